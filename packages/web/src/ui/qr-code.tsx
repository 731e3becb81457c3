import QRCode from "qrcode";

/**
 * A QR code drawn as one SVG path (no canvas, no data: URL, nothing inline the CSP forbids).
 * Dark modules on a light quiet zone whatever the theme, so phones can scan it.
 */
export function QrCode({ text, label }: { text: string; label: string }) {
  const qr = QRCode.create(text, { errorCorrectionLevel: "M" });
  const size = qr.modules.size;
  const quiet = 4;
  let d = "";
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (qr.modules.get(y, x)) d += `M${x + quiet} ${y + quiet}h1v1h-1z`;
    }
  }
  const full = size + quiet * 2;
  return (
    <svg
      class="qr"
      role="img"
      aria-label={label}
      viewBox={`0 0 ${full} ${full}`}
      shape-rendering="crispEdges"
    >
      <rect width={full} height={full} fill="#fff" />
      <path d={d} fill="#000" />
    </svg>
  );
}
