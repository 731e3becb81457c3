/** @jsxImportSource preact */
import { lexer, type Token, type Tokens } from "marked";
import type { ComponentChildren } from "preact";
import { safeHref } from "./links.js";

/**
 * Messages as a safe Markdown subset: bold, italic, strikethrough, inline code, code blocks,
 * lists and links. marked only tokenises; this file builds Preact elements from the tokens it
 * knows, so nothing a message contains is ever parsed as HTML: an HTML tag, an image or any
 * construct outside the subset is shown as its source text. Only http(s) and mailto links
 * become links, always with their target shown, opened without a referrer or opener.
 */
export function Markdown({ text, decorate }: { text: string; decorate?: Decorate }) {
  let tokens: Token[];
  try {
    tokens = lexer(text, { gfm: true, breaks: true });
  } catch {
    return <p>{text}</p>;
  }
  return <>{blocks(tokens, decorate ?? plain)}</>;
}

/** What becomes of plain text (not code, not a link): marked mentions (CHAT-5), or itself. */
export type Decorate = (text: string) => ComponentChildren;
const plain: Decorate = (text) => text;

function blocks(tokens: readonly Token[], d: Decorate): ComponentChildren[] {
  return tokens.map((t, i) => block(t, i, d));
}

function block(t: Token, key: number, d: Decorate): ComponentChildren {
  switch (t.type) {
    case "paragraph":
      return <p key={key}>{inline((t as Tokens.Paragraph).tokens, d)}</p>;
    case "code":
      return (
        <pre key={key}>
          <code>{(t as Tokens.Code).text}</code>
        </pre>
      );
    case "list": {
      const list = t as Tokens.List;
      const items = list.items.map((item, i) => <li key={i}>{listItem(item, d)}</li>);
      if (!list.ordered) return <ul key={key}>{items}</ul>;
      const start = typeof list.start === "number" ? list.start : undefined;
      return (
        <ol key={key} start={start}>
          {items}
        </ol>
      );
    }
    case "space":
      return null;
    case "text": {
      const text = t as Tokens.Text;
      return <p key={key}>{text.tokens ? inline(text.tokens, d) : d(text.text)}</p>;
    }
    default:
      // Headings, quotes, tables, rules, HTML blocks...: outside the subset, shown as typed.
      return (
        <p key={key} class="md-raw">
          {t.raw.replace(/\n+$/, "")}
        </p>
      );
  }
}

function listItem(item: Tokens.ListItem, d: Decorate): ComponentChildren {
  return item.tokens.map((t, i) => {
    if (t.type === "text") {
      const text = t as Tokens.Text;
      return <span key={i}>{text.tokens ? inline(text.tokens, d) : d(text.text)}</span>;
    }
    return block(t, i, d);
  });
}

function inline(tokens: readonly Token[] | undefined, d: Decorate): ComponentChildren[] {
  if (tokens === undefined) return [];
  return tokens.map((t, key) => {
    switch (t.type) {
      case "text": {
        const text = t as Tokens.Text;
        if (text.tokens) return <span key={key}>{inline(text.tokens, d)}</span>;
        const out = d(text.text);
        return typeof out === "string" ? out : <span key={key}>{out}</span>;
      }
      case "escape":
        return (t as Tokens.Escape).text;
      case "strong":
        return <strong key={key}>{inline((t as Tokens.Strong).tokens, d)}</strong>;
      case "em":
        return <em key={key}>{inline((t as Tokens.Em).tokens, d)}</em>;
      case "del":
        return <del key={key}>{inline((t as Tokens.Del).tokens, d)}</del>;
      case "codespan":
        return <code key={key}>{(t as Tokens.Codespan).text}</code>;
      case "br":
        return <br key={key} />;
      case "link":
        return link(t as Tokens.Link, key, d);
      default:
        // html, image, anything else: the characters the sender typed.
        return t.raw;
    }
  });
}

function link(t: Tokens.Link, key: number, d: Decorate): ComponentChildren {
  const href = safeHref(t.href);
  if (href === undefined) return t.raw;
  const label = inline(t.tokens, d);
  const shown = t.href.replace(/^mailto:/, "");
  const labelIsTarget = t.text === t.href || t.text === shown;
  return (
    <span key={key} class="md-link">
      <a href={href} target="_blank" rel="noopener noreferrer nofollow">
        {label}
      </a>
      {labelIsTarget ? null : <span class="md-link-target"> ({shown})</span>}
    </span>
  );
}
