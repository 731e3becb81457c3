import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Locator, Page } from "playwright-core";
import { compareAndConfirm, newUnlinkedDevice, openLinkNewDevice, showLinkCode } from "./support/linking.js";
import {
  canvasJpeg,
  jpegSize,
  PHOTO_CAMERA,
  PHOTO_GPS,
  photoMetadata,
  tinyPdf,
  withExifGps,
  writeToneWav,
} from "./support/media.js";
import { newPerson, type Person } from "./support/people.js";
import { E2eSuite } from "./support/suite.js";
import { closeDialog, composer, createRoom, messageLog, openConversation, openDirect } from "./support/ui.js";
import { until, waitForText } from "./support/wait.js";

// Issue 17, part 3: files, photos and voice notes between two real browsers, through the SDK's
// encryption and the server's blob store. What arrives is read back as bytes and compared.

/** The largest file the test server takes: small, so "too large" needs no big buffer. */
const MAX_BYTES = 2 * 1024 * 1024;

/** The hidden file input behind "Attach files": Playwright sets files on it as a person picks them. */
function fileInput(page: Page): Locator {
  return page.getByLabel("Choose files to attach");
}

function attachments(page: Page, from: string): Locator {
  return messageLog(page).locator(`[data-testid="message"][data-from="${from}"] [data-testid="attachment"]`);
}

async function attach(
  page: Page,
  files: { name: string; mimeType: string; buffer: Buffer }[],
): Promise<void> {
  await fileInput(page).setInputFiles(files);
}

async function send(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Send", exact: true }).click();
}

/** An image's natural size once it has loaded. */
async function loadedSize(img: Locator): Promise<{ width: number; height: number }> {
  return until(
    () =>
      img.evaluate((el: { naturalWidth: number; naturalHeight: number }) =>
        el.naturalWidth > 0 ? { width: el.naturalWidth, height: el.naturalHeight } : undefined,
      ),
    "an image to load",
  );
}

/** Clicks a Download button and returns the saved file's bytes. */
async function download(page: Page, button: Locator): Promise<Buffer> {
  const [saved] = await Promise.all([page.waitForEvent("download"), button.click()]);
  const path = await saved.path();
  return readFile(path);
}

/**
 * Holds a page's requests to the file API with `method` until `now()`: `held()` resolves once
 * one is waiting. A transfer is then surely under way when the test presses Cancel.
 */
async function holdRequests(
  page: Page,
  method: string,
): Promise<{ held: () => Promise<void>; now: () => void }> {
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  let waiting = 0;
  await page.route("**/api/files/**", async (route) => {
    if (route.request().method() !== method) return route.continue();
    waiting++;
    await gate;
    await route.continue().catch(() => undefined);
  });
  return { held: () => until(async () => waiting > 0, `a held ${method}`).then(() => undefined), now: open };
}

describe("files, photos and voice notes between browsers", () => {
  let s: E2eSuite;
  let alice: Person;
  let bob: Person;
  let audioDir: string;
  /** Requests each page made to the file API, to prove a refused file uploaded nothing. */
  const fileRequests = new Map<Page, string[]>();

  before(async () => {
    audioDir = await mkdtemp(join(tmpdir(), "parley-audio-"));
    const wav = join(audioDir, "tone.wav");
    await writeToneWav(wav, 6);
    s = await E2eSuite.start(
      import.meta.url,
      { authRatePerMin: 10_000, fileMaxBytes: MAX_BYTES },
      {
        chromiumArgs: [
          "--use-fake-device-for-media-stream",
          "--use-fake-ui-for-media-stream",
          `--use-file-for-fake-audio-capture=${wav}`,
          "--autoplay-policy=no-user-gesture-required",
        ],
      },
    );
    alice = await newPerson(s, "alice");
    bob = await newPerson(s, "bob");
    for (const p of [alice.page, bob.page]) {
      const seen: string[] = [];
      fileRequests.set(p, seen);
      p.on("request", (r) => {
        if (new URL(r.url()).pathname.startsWith("/api/files")) seen.push(`${r.method()} ${r.url()}`);
      });
    }
    await openDirect(alice.page, bob.username);
    await composer(alice.page).fill("files coming");
    await composer(alice.page).press("Enter");
    await openConversation(bob.page, alice.username);
    await messageLog(bob.page).getByText("files coming").waitFor();
  });
  after(async () => {
    await s?.close();
    await rm(audioDir, { recursive: true, force: true });
  });

  it("sends a text file and a PDF that arrive as cards and download byte for byte", (t) =>
    s.check(t, async () => {
      const text = Buffer.from("build 4711 passed\nall green\n");
      const pdf = tinyPdf("Incident report");
      await attach(alice.page, [
        { name: "build.log", mimeType: "text/plain", buffer: text },
        { name: "report.pdf", mimeType: "application/pdf", buffer: pdf },
      ]);
      await alice.page.getByRole("list", { name: "Attachments to send" }).getByText("report.pdf").waitFor();
      await send(alice.page);
      const cards = attachments(bob.page, alice.username);
      const pdfCard = cards.filter({ hasText: "report.pdf" });
      await waitForText(pdfCard.getByTestId("file-meta"), /PDF document · \d+ bytes/);
      const logCard = cards.filter({ hasText: "build.log" });
      await waitForText(logCard.getByTestId("file-meta"), `Text · ${text.length} bytes`);
      assert.deepEqual(
        await download(bob.page, pdfCard.getByRole("button", { name: "Download report.pdf" })),
        pdf,
      );
      assert.deepEqual(
        await download(bob.page, logCard.getByRole("button", { name: "Download build.log" })),
        text,
      );
    }));

  it("strips a photo's EXIF and location before it is encrypted, unless the sender keeps them", (t) =>
    s.check(t, async () => {
      const original = withExifGps(await canvasJpeg(alice.page, 640, 480));
      // The fixture really carries what must go: otherwise this test could not fail.
      const before = await photoMetadata(original);
      assert.equal(before.make, PHOTO_CAMERA);
      assert.ok(Math.abs((before.gps?.latitude ?? 0) - PHOTO_GPS.latitude) < 1e-3);

      await attach(alice.page, [{ name: "site.jpg", mimeType: "image/jpeg", buffer: original }]);
      await send(alice.page);
      const photo = attachments(bob.page, alice.username).filter({
        has: bob.page.getByRole("button", { name: "Open photo site.jpg" }),
      });
      // The thumbnail shows before anything is downloaded.
      const thumb = await loadedSize(photo.getByTestId("thumbnail"));
      assert.ok(
        thumb.width <= 200 && thumb.height <= 200,
        `a thumbnail, not the photo: ${JSON.stringify(thumb)}`,
      );

      await photo.getByRole("button", { name: "Open photo site.jpg" }).click();
      const lightbox = bob.page.getByRole("dialog", { name: "site.jpg" });
      assert.deepEqual(await loadedSize(lightbox.getByTestId("full-image")), { width: 640, height: 480 });
      const received = await download(bob.page, lightbox.getByRole("link", { name: "Save" }));
      assert.deepEqual(jpegSize(received), { width: 640, height: 480 });
      assert.deepEqual(await photoMetadata(received), {}, "no EXIF, no GPS, no camera make");
      await closeDialog(lightbox);

      // Kept on purpose: the original bytes, metadata and all.
      await attach(alice.page, [{ name: "kept.jpg", mimeType: "image/jpeg", buffer: original }]);
      await alice.page.getByRole("checkbox", { name: "Keep location and camera details" }).check();
      await send(alice.page);
      await bob.page.getByRole("button", { name: "Open photo kept.jpg" }).click();
      const kept = bob.page.getByRole("dialog", { name: "kept.jpg" });
      await loadedSize(kept.getByTestId("full-image"));
      assert.deepEqual(await download(bob.page, kept.getByRole("link", { name: "Save" })), original);
      await closeDialog(kept);
    }));

  it("stages files dropped on the composer or pasted into it, and sends them", (t) =>
    s.check(t, async () => {
      // What a drop from the file manager and a paste of a copied file hand the page.
      await alice.page.evaluate(`(() => {
        const drop = new DataTransfer();
        drop.items.add(new File(["dropped\\n"], "dropped.txt", { type: "text/plain" }));
        const form = document.querySelector('form[aria-label="Write a message"]');
        form.dispatchEvent(new DragEvent("dragover", { dataTransfer: drop, bubbles: true, cancelable: true }));
        form.dispatchEvent(new DragEvent("drop", { dataTransfer: drop, bubbles: true, cancelable: true }));
        const paste = new DataTransfer();
        paste.items.add(new File(["pasted\\n"], "pasted.txt", { type: "text/plain" }));
        const box = document.querySelector('textarea[aria-label="Message"]');
        box.dispatchEvent(new ClipboardEvent("paste", { clipboardData: paste, bubbles: true, cancelable: true }));
      })()`);
      const staged = alice.page.getByRole("list", { name: "Attachments to send" });
      await staged.getByText("dropped.txt").waitFor();
      await staged.getByText("pasted.txt").waitFor();
      await send(alice.page);
      const cards = attachments(bob.page, alice.username);
      for (const [name, text] of [
        ["dropped.txt", "dropped\n"],
        ["pasted.txt", "pasted\n"],
      ] as const) {
        const card = cards.filter({ hasText: name });
        const bytes = await download(bob.page, card.getByRole("button", { name: `Download ${name}` }));
        assert.equal(bytes.toString(), text);
      }
    }));

  it("refuses a too-large file and a refused type with a message, before uploading anything", (t) =>
    s.check(t, async () => {
      const requests = fileRequests.get(alice.page)!;
      const before = requests.length;
      await attach(alice.page, [
        { name: "huge.zip", mimeType: "application/zip", buffer: Buffer.alloc(MAX_BYTES + 1) },
        { name: "setup.exe", mimeType: "application/x-msdownload", buffer: Buffer.from("MZ") },
      ]);
      const errors = alice.page.getByTestId("attach-error");
      await waitForText(errors.filter({ hasText: "huge.zip" }), /up to 2 MB/);
      await waitForText(errors.filter({ hasText: "setup.exe" }), /does not take/);
      assert.equal(await alice.page.getByRole("list", { name: "Attachments to send" }).count(), 0);
      assert.equal(await alice.page.getByRole("button", { name: "Send", exact: true }).isDisabled(), true);
      assert.deepEqual(requests.slice(before), [], "no request to the file API");
    }));

  it("cancels an upload under way: nothing is sent", (t) =>
    s.check(t, async () => {
      // The upload's data request is held until Cancel is pressed, then let through: the file
      // is on the server by then, and still must not be announced.
      const release = await holdRequests(alice.page, "PATCH");
      try {
        await attach(alice.page, [
          { name: "slow.zip", mimeType: "application/zip", buffer: Buffer.alloc(300_000, 7) },
        ]);
        await send(alice.page);
        const progress = alice.page.getByRole("progressbar", { name: "Uploading slow.zip" });
        await progress.waitFor();
        await release.held();
        await alice.page.getByRole("button", { name: "Cancel upload of slow.zip" }).click();
        release.now();
        await progress.waitFor({ state: "hidden" });
        await waitForText(alice.page.getByTestId("transfer-cancelled"), "Upload cancelled: not sent.");
      } finally {
        await alice.page.unrouteAll({ behavior: "ignoreErrors" });
      }
      // A message after it arrives; the cancelled file never does.
      await composer(alice.page).fill("after the cancelled upload");
      await composer(alice.page).press("Enter");
      await messageLog(bob.page).getByText("after the cancelled upload").waitFor();
      assert.equal(await attachments(bob.page, alice.username).filter({ hasText: "slow.zip" }).count(), 0);
    }));

  it("cancels a download under way: nothing is saved", (t) =>
    s.check(t, async () => {
      await attach(alice.page, [
        { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("not saved\n") },
      ]);
      await send(alice.page);
      const card = attachments(bob.page, alice.username).filter({ hasText: "notes.txt" });
      await card.getByRole("button", { name: "Download notes.txt" }).waitFor();
      const saved: string[] = [];
      bob.page.on("download", (d) => saved.push(d.suggestedFilename()));
      const release = await holdRequests(bob.page, "GET");
      try {
        await card.getByRole("button", { name: "Download notes.txt" }).click();
        const progress = card.getByRole("progressbar", { name: "Downloading notes.txt" });
        await progress.waitFor();
        await release.held();
        await card.getByRole("button", { name: "Cancel download of notes.txt" }).click();
        release.now();
        await waitForText(card.getByTestId("transfer-cancelled"), "Download cancelled.");
        await progress.waitFor({ state: "hidden" });
      } finally {
        await bob.page.unrouteAll({ behavior: "ignoreErrors" });
      }
      // Downloading again works, and only that one is saved.
      const bytes = await download(bob.page, card.getByRole("button", { name: "Download notes.txt" }));
      assert.equal(bytes.toString(), "not saved\n");
      assert.deepEqual(saved, ["notes.txt"]);
    }));

  it("records a voice note from the microphone that plays back on the other browser with its waveform", (t) =>
    s.check(t, async () => {
      await alice.page.getByRole("button", { name: "Record a voice note" }).click();
      await alice.page.getByRole("group", { name: "Recording a voice note" }).waitFor();
      // At least 2.5 s recorded (the clock rounds), so what plays back runs past 1.5 s.
      await waitForText(alice.page.getByTestId("recording-time"), /^0:0[3-9]$/);
      // The live waveform drew bars from the fake microphone.
      await until(
        async () => (await alice.page.getByTestId("live-waveform").locator("rect").count()) > 5,
        "a live waveform",
      );
      await alice.page.getByRole("button", { name: "Stop recording" }).click();
      await alice.page
        .getByRole("list", { name: "Attachments to send" })
        .getByText(/^Voice note, 0:0\d/)
        .waitFor();
      await send(alice.page);

      const note = messageLog(bob.page)
        .locator(
          `[data-testid="message"][data-from="${alice.username}"] [data-testid="attachment"][data-kind="voice"]`,
        )
        .last();
      await note.waitFor();
      const peaks = Number(await note.getByTestId("waveform").getAttribute("data-peaks"));
      assert.ok(peaks >= 20 && peaks <= 100, `${peaks} waveform bars`);
      const heights = await note
        .getByTestId("waveform")
        .locator("rect")
        .evaluateAll((rects) =>
          rects.map((r) =>
            Number((r as unknown as { getAttribute(n: string): string }).getAttribute("height")),
          ),
        );
      assert.ok(new Set(heights).size > 3, `the waveform has a shape: ${heights.join(",")}`);
      await waitForText(note.getByTestId("voice-time"), /^0:0[2-9]$/);

      await note.getByRole("button", { name: "Play voice note" }).click();
      const audio = note.getByTestId("voice-audio");
      // Real audio of the recorded length: playback runs past 1.5 s and ends by itself.
      await until(
        () => audio.evaluate((a: { currentTime: number }) => a.currentTime > 1.5),
        "playback past 1.5 s",
      );
      await note.getByRole("button", { name: "Play voice note" }).waitFor();
    }));

  it("records while a finger holds the microphone button on a touch screen", (t) =>
    s.check(t, async () => {
      const mic = alice.page.getByRole("button", { name: "Record a voice note" });
      const touch = { pointerType: "touch", pointerId: 7, isPrimary: true, bubbles: true };
      await mic.dispatchEvent("pointerdown", touch);
      await waitForText(alice.page.getByTestId("recording-time"), /^0:0[2-9]$/);
      await alice.page.getByRole("button", { name: "Stop recording" }).dispatchEvent("pointerup", touch);
      const staged = alice.page.getByRole("list", { name: "Attachments to send" });
      await staged.getByText(/^Voice note, 0:0\d/).waitFor();
      await staged.getByRole("button", { name: "Remove voice note" }).click();
      await staged.waitFor({ state: "hidden" });
    }));

  it("removes a view-once photo and voice note from every device once opened", (t) =>
    s.check(t, async () => {
      // Bob's second device, linked from his first.
      const tablet = await newUnlinkedDevice(s, bob, "bob-tablet");
      const code = await showLinkCode(tablet.page);
      const linking = await openLinkNewDevice(bob.page);
      await linking.getByRole("textbox", { name: "Code shown on the new device" }).fill(code);
      await linking.getByRole("button", { name: "Link" }).click();
      await compareAndConfirm(linking, tablet.page, bob.username);
      await closeDialog(bob.page.getByRole("dialog", { name: "Settings" }));
      // The tablet is in the conversation once its first message reaches Alice (as in devices.test.ts).
      await openConversation(tablet.page, alice.username);
      await composer(tablet.page).fill("tablet here");
      await composer(tablet.page).press("Enter");
      await messageLog(alice.page).getByText("tablet here").waitFor();
      await openConversation(bob.page, alice.username);

      const photo = withExifGps(await canvasJpeg(alice.page, 320, 240));
      await attach(alice.page, [{ name: "secret.jpg", mimeType: "image/jpeg", buffer: photo }]);
      await alice.page.getByRole("checkbox", { name: "View once" }).check();
      await send(alice.page);
      await alice.page.getByRole("button", { name: "Record a voice note" }).click();
      await waitForText(alice.page.getByTestId("recording-time"), /^0:0[2-9]$/);
      await alice.page.getByRole("button", { name: "Stop recording" }).click();
      await alice.page.getByRole("checkbox", { name: "View once" }).check();
      await send(alice.page);

      const openPhoto = (p: Page) => messageLog(p).getByRole("button", { name: "Open view-once photo" });
      const playNote = (p: Page) => messageLog(p).getByRole("button", { name: "Play view-once voice note" });
      // Both of Bob's devices have both, and no preview of the photo shows before it is opened.
      for (const p of [bob.page, tablet.page]) {
        await openPhoto(p).waitFor();
        await playNote(p).waitFor();
        assert.equal(await openPhoto(p).getByTestId("thumbnail").count(), 0);
      }

      await openPhoto(bob.page).click();
      const lightbox = bob.page.getByRole("dialog", { name: "View-once photo" });
      assert.deepEqual(await loadedSize(lightbox.getByTestId("full-image")), { width: 320, height: 240 });
      // No way to keep it from the lightbox.
      assert.equal(await lightbox.getByRole("link", { name: "Save" }).count(), 0);
      await closeDialog(lightbox);

      await playNote(bob.page).click();
      await messageLog(bob.page).getByRole("button", { name: "Pause voice note" }).waitFor();
      // Played to the end, then gone.
      const opened = (p: Page) => messageLog(p).getByTestId("once-opened");
      await until(async () => (await opened(bob.page).count()) === 2, "both opened on Bob's first device");
      for (const p of [tablet.page, alice.page]) {
        await until(async () => (await opened(p).count()) === 2, "both shown opened on every device");
        assert.equal(await openPhoto(p).count(), 0);
        assert.equal(await playNote(p).count(), 0);
      }
    }));

  it("ran every page of this file without a CSP violation or an uncaught error", (t) =>
    s.check(t, async () => {
      // Blob URLs for photos and audio, the lazily loaded chunks, the canvas: all within the CSP.
      const all = s.users.flatMap((u) => [
        ...u.consoleErrors.filter((m) => /Content.Security.Policy/i.test(m)).map((m) => `${u.label}: ${m}`),
        ...u.pageErrors.map((m) => `${u.label}: ${m}`),
      ]);
      assert.deepEqual(all, []);
    }));
});

describe("a server with files off", () => {
  let s: E2eSuite;
  before(async () => {
    s = await E2eSuite.start(import.meta.url, { authRatePerMin: 10_000, files: "off" });
  });
  after(async () => {
    await s?.close();
  });

  it("shows no way to attach a file or record a voice note", (t) =>
    s.check(t, async () => {
      const carol = await newPerson(s, "carol");
      await createRoom(carol.page, "Notes");
      await composer(carol.page).waitFor();
      assert.equal(await carol.page.getByRole("button", { name: "Attach files" }).count(), 0);
      assert.equal(await carol.page.getByRole("button", { name: "Record a voice note" }).count(), 0);
      assert.equal(await fileInput(carol.page).count(), 0);
    }));
});
