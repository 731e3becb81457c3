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
export function Markdown({ text }: { text: string }) {
  let tokens: Token[];
  try {
    tokens = lexer(text, { gfm: true, breaks: true });
  } catch {
    return <p>{text}</p>;
  }
  return <>{blocks(tokens)}</>;
}

function blocks(tokens: readonly Token[]): ComponentChildren[] {
  return tokens.map((t, i) => block(t, i));
}

function block(t: Token, key: number): ComponentChildren {
  switch (t.type) {
    case "paragraph":
      return <p key={key}>{inline((t as Tokens.Paragraph).tokens)}</p>;
    case "code":
      return (
        <pre key={key}>
          <code>{(t as Tokens.Code).text}</code>
        </pre>
      );
    case "list": {
      const list = t as Tokens.List;
      const items = list.items.map((item, i) => <li key={i}>{listItem(item)}</li>);
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
      return <p key={key}>{text.tokens ? inline(text.tokens) : text.text}</p>;
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

function listItem(item: Tokens.ListItem): ComponentChildren {
  return item.tokens.map((t, i) => {
    if (t.type === "text") {
      const text = t as Tokens.Text;
      return <span key={i}>{text.tokens ? inline(text.tokens) : text.text}</span>;
    }
    return block(t, i);
  });
}

function inline(tokens: readonly Token[] | undefined): ComponentChildren[] {
  if (tokens === undefined) return [];
  return tokens.map((t, key) => {
    switch (t.type) {
      case "text": {
        const text = t as Tokens.Text;
        return text.tokens ? <span key={key}>{inline(text.tokens)}</span> : text.text;
      }
      case "escape":
        return (t as Tokens.Escape).text;
      case "strong":
        return <strong key={key}>{inline((t as Tokens.Strong).tokens)}</strong>;
      case "em":
        return <em key={key}>{inline((t as Tokens.Em).tokens)}</em>;
      case "del":
        return <del key={key}>{inline((t as Tokens.Del).tokens)}</del>;
      case "codespan":
        return <code key={key}>{(t as Tokens.Codespan).text}</code>;
      case "br":
        return <br key={key} />;
      case "link":
        return link(t as Tokens.Link, key);
      default:
        // html, image, anything else: the characters the sender typed.
        return t.raw;
    }
  });
}

function link(t: Tokens.Link, key: number): ComponentChildren {
  const href = safeHref(t.href);
  if (href === undefined) return t.raw;
  const label = inline(t.tokens);
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
