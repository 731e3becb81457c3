import type { ComponentChildren } from "preact";
import { useEffect, useId, useRef } from "preact/hooks";

/**
 * A modal dialog on the platform's <dialog>: focus moves in and is trapped, Escape closes it,
 * the page behind is inert, and it is named by its title for assistive technology.
 */
export function Dialog(props: {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  wide?: boolean;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  // The latest onClose, without reopening the dialog each time the parent renders a new function.
  const onClose = useRef(props.onClose);
  onClose.current = props.onClose;
  useEffect(() => {
    const el = ref.current;
    if (el === null) return;
    if (!el.open) el.showModal();
    const closed = () => onClose.current();
    el.addEventListener("close", closed);
    return () => {
      el.removeEventListener("close", closed);
      if (el.open) el.close();
    };
  }, []);
  return (
    <dialog ref={ref} aria-labelledby={titleId} class={props.wide ? "dialog dialog-wide" : "dialog"}>
      <h2 id={titleId}>{props.title}</h2>
      {props.children}
    </dialog>
  );
}
