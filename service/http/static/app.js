// Citewire's page: the indexed articles, a chat with streamed answers, the passage behind each [n], and a
// claim check that shows the sentences supporting and contradicting each claim side by side.
// Text from the server only ever goes into the DOM through textContent (never innerHTML).
"use strict";

const $ = (id) => document.getElementById(id);
const conversation = []; // the conversation sent with each question: {role, content}
let busy = false;

// A DOM element with attributes and children (strings become text nodes).
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined) node.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

function day(value) {
  if (!value) return "";
  const match = /^\d{4}-\d{2}-\d{2}/.exec(value);
  return match ? match[0] : value;
}

function joinMeta(...parts) {
  return parts.filter(Boolean).join(" · ");
}

function safeUrl(url) {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

// The readable text of an error response: {"detail": str | [{loc, msg}, ...]} or anything else.
async function errorText(response) {
  let detail = null;
  try {
    detail = (await response.json()).detail;
  } catch {
    // not JSON: fall back to the status line
  }
  let text;
  if (typeof detail === "string") {
    text = detail;
  } else if (Array.isArray(detail)) {
    text = detail.map((e) => (e && e.msg ? `${(e.loc || []).join(".")}: ${e.msg}` : JSON.stringify(e))).join("; ");
  } else {
    text = `${response.status} ${response.statusText}`.trim();
  }
  const retry = response.headers.get("Retry-After");
  if (response.status === 503 && retry) text += ` (try again in ${retry} s)`;
  return text;
}

// ---- Articles ---------------------------------------------------------------------------------

async function loadArticles() {
  const status = $("articles-status");
  try {
    const response = await fetch("/v1/articles");
    if (!response.ok) throw new Error(await errorText(response));
    const body = await response.json();
    $("article-count").textContent = `(${body.total})`;
    const list = $("article-list");
    list.replaceChildren(
      ...body.articles.map((a) => {
        const url = safeUrl(a.url);
        const title = url ? el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, a.title) : a.title;
        return el(
          "li",
          { "data-article-id": a.id },
          el("span", { class: "title" }, title),
          el("span", { class: "meta" }, joinMeta(a.source, day(a.published_at), a.lang, `${a.chunk_count} chunks`)),
        );
      }),
    );
    status.textContent = body.total ? "" : "No articles indexed yet.";
    status.hidden = body.total > 0;
  } catch (err) {
    status.textContent = `Could not load the articles: ${err.message}`;
  }
}

// ---- Chat -------------------------------------------------------------------------------------

// Reads a text/event-stream body; calls onEvent(event, parsedData) for each event.
async function readEvents(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    buffer += decoder.decode(value || new Uint8Array(), { stream: !done });
    buffer = buffer.replace(/\r\n?/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) continue; // a comment (keep-alive)
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const val = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") event = val;
        else if (field === "data") data.push(val);
      }
      if (data.length) onEvent(event, JSON.parse(data.join("\n")));
    }
    if (done) return;
  }
}

function addMessage(role) {
  const body = el("div", { class: "body" });
  const item = el("li", { class: `message ${role}` }, el("span", { class: "who" }, role === "user" ? "You" : "Citewire"), body);
  $("messages").append(item);
  return { item, body };
}

function scrollToEnd() {
  const list = $("messages");
  list.scrollTop = list.scrollHeight;
}

// The final answer: [n] markers become links to their passages, then the list of sources.
function renderFinal(message, result) {
  const byN = new Map(result.citations.map((c) => [c.n, c]));
  const answer = el("p", { class: "answer-text" });
  let last = 0;
  for (const match of result.answer.matchAll(/\[(\d+)\]/g)) {
    const citation = byN.get(Number(match[1]));
    if (!citation) continue;
    answer.append(result.answer.slice(last, match.index), citeLink(citation));
    last = match.index + match[0].length;
  }
  answer.append(result.answer.slice(last));

  const parts = [answer];
  if (result.citations.length) {
    const sources = el(
      "ol",
      { class: "sources", "aria-label": "Sources" },
      ...result.citations.map((c) =>
        el(
          "li",
          { "data-n": c.n },
          citeLink(c),
          " ",
          el("span", { class: "title" }, c.title),
          el("span", { class: "meta" }, joinMeta(c.source, day(c.published_at))),
          el("q", { class: "quote" }, c.quote),
        ),
      ),
    );
    parts.push(sources);
  }
  message.body.replaceChildren(...parts);
  message.item.classList.toggle("abstained", Boolean(result.abstained));
}

function citeLink(citation) {
  const link = el(
    "a",
    {
      class: "cite",
      href: "#",
      "data-n": citation.n,
      title: `${citation.title}: open the cited passage`,
      "aria-label": `Citation ${citation.n}: ${citation.title}`,
    },
    `[${citation.n}]`,
  );
  link.addEventListener("click", (event) => {
    event.preventDefault();
    openPassage(citation, `[${citation.n}]`);
  });
  return link;
}

async function ask(question) {
  busy = true;
  $("send").disabled = true;
  const mine = addMessage("user");
  mine.body.textContent = question;
  const reply = addMessage("assistant");
  reply.item.dataset.state = "thinking";
  reply.body.append(el("p", { class: "thinking", role: "status" }, "Thinking…"));
  const streamed = el("p", { class: "answer-text streaming" });
  scrollToEnd();

  const messages = [...conversation, { role: "user", content: question }];
  try {
    const response = await fetch("/v1/chat", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify({ messages, stream: true }),
    });
    if (!response.ok) throw new Error(await errorText(response));
    let final = null;
    await readEvents(response, (event, data) => {
      if (event === "token") {
        if (reply.item.dataset.state !== "streaming") {
          reply.item.dataset.state = "streaming";
          reply.body.replaceChildren(streamed);
        }
        streamed.append(data.text);
        scrollToEnd();
      } else if (event === "final") {
        final = data;
      } else if (event === "error") {
        throw new Error(typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail));
      }
    });
    if (!final) throw new Error("the answer stream ended early");
    renderFinal(reply, final);
    reply.item.dataset.state = "done";
    conversation.push({ role: "user", content: question }, { role: "assistant", content: final.answer });
  } catch (err) {
    reply.item.dataset.state = "error";
    reply.item.classList.add("failed");
    reply.body.replaceChildren(el("p", { class: "error", role: "alert" }, `Sorry, no answer: ${err.message}`));
  } finally {
    busy = false;
    $("send").disabled = false;
    scrollToEnd();
  }
}

// ---- Claim check ------------------------------------------------------------------------------

const LABELS = { supported: "Supported", contradicted: "Contradicted", unmentioned: "Not mentioned" };
let checking = false;

function scores(item) {
  return `support ${item.support.toFixed(2)} · contradiction ${item.contradiction.toFixed(2)}`;
}

// One sentence of an article; its quote opens the passage, the span highlighted, as a citation does.
function spanItem(span, role) {
  const link = el(
    "a",
    {
      class: "span-link",
      href: "#",
      "data-article-id": span.article_id,
      "data-start": span.start,
      "data-end": span.end,
      title: `${span.title}: open the passage`,
    },
    el("q", { class: "quote" }, span.quote),
  );
  link.addEventListener("click", (event) => {
    event.preventDefault();
    openPassage(span, role);
  });
  return el(
    "li",
    { class: "span" },
    link,
    el("span", { class: "title" }, span.title),
    el("span", { class: "meta" }, joinMeta(span.source, day(span.published_at), scores(span))),
  );
}

function evidenceColumn(kind, heading, role, spans) {
  return el(
    "section",
    { class: `column ${kind}`, "aria-label": heading },
    el("h3", {}, heading),
    spans.length
      ? el("ul", { class: "spans" }, ...spans.map((span) => spanItem(span, role)))
      : el("p", { class: "meta none" }, "None found."),
  );
}

function renderClaim(claim) {
  return el(
    "li",
    { class: `claim ${claim.label}`, "data-label": claim.label },
    el(
      "p",
      { class: "claim-head" },
      el("span", { class: `label ${claim.label}` }, LABELS[claim.label] || claim.label),
      " ",
      el("span", { class: "meta score" }, scores(claim)),
    ),
    el("p", { class: "claim-text" }, claim.text),
    el(
      "div",
      { class: "evidence" },
      evidenceColumn("supporting", "Supporting", "Supports the claim", claim.supporting),
      evidenceColumn("contradicting", "Contradicting", "Contradicts the claim", claim.contradicting),
    ),
  );
}

async function check(text) {
  checking = true;
  $("check-send").disabled = true;
  const status = $("check-status");
  const results = $("check-results");
  results.dataset.state = "checking";
  status.textContent = "Checking…";
  results.replaceChildren();
  try {
    const response = await fetch("/v1/check", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text }),
    });
    if (!response.ok) throw new Error(await errorText(response));
    const body = await response.json();
    results.replaceChildren(...body.claims.map(renderClaim));
    status.textContent = joinMeta(
      `${body.supported} supported`,
      `${body.contradicted} contradicted`,
      `${body.unmentioned} not mentioned`,
      `grounding ${body.score.toFixed(2)}`,
    );
    results.dataset.state = "done";
  } catch (err) {
    results.dataset.state = "error";
    status.textContent = "";
    results.replaceChildren(el("li", { class: "error", role: "alert" }, `Sorry, no check: ${err.message}`));
  } finally {
    checking = false;
    $("check-send").disabled = false;
  }
}

// ---- Modes: ask or check ----------------------------------------------------------------------

function selectMode(tab) {
  for (const other of document.querySelectorAll('[role="tab"]')) {
    const selected = other === tab;
    other.setAttribute("aria-selected", String(selected));
    other.tabIndex = selected ? 0 : -1;
    $(other.getAttribute("aria-controls")).hidden = !selected;
  }
}

// ---- Passage panel ----------------------------------------------------------------------------

let passageRequest = 0;

// Opens a citation or a checked sentence (article_id, start, end, title...); `tag` says which it is.
async function openPassage(citation, tag) {
  const panel = $("passage");
  const request = ++passageRequest;
  panel.hidden = false;
  document.body.classList.add("with-passage");
  $("passage-title").textContent = citation.title;
  $("passage-meta").textContent = joinMeta(tag, citation.source, day(citation.published_at));
  $("passage-status").textContent = "Loading the passage…";
  $("passage-context").replaceChildren();
  const link = $("passage-link");
  const url = safeUrl(citation.url);
  link.hidden = !url;
  link.href = url || "#";
  panel.focus();

  const query = new URLSearchParams({ start: citation.start, end: citation.end, context: 300 });
  try {
    const response = await fetch(`/v1/articles/${encodeURIComponent(citation.article_id)}/passage?${query}`);
    if (!response.ok) throw new Error(await errorText(response));
    const p = await response.json();
    if (request !== passageRequest) return; // another citation was opened meanwhile
    const before = p.context.slice(0, p.highlight_start);
    const after = p.context.slice(p.highlight_end);
    $("passage-context").replaceChildren(
      p.context_start > 0 ? "…" : "",
      before,
      el("mark", {}, p.context.slice(p.highlight_start, p.highlight_end)),
      after,
    );
    $("passage-status").textContent = "";
  } catch (err) {
    if (request === passageRequest) $("passage-status").textContent = `Could not load the passage: ${err.message}`;
  }
}

function closePassage() {
  $("passage").hidden = true;
  document.body.classList.remove("with-passage");
}

// ---- Wiring -----------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  const form = $("ask");
  const input = $("question");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const question = input.value.trim();
    if (!question || busy) return;
    input.value = "";
    ask(question);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  $("new-chat").addEventListener("click", () => {
    if (busy) return;
    conversation.length = 0;
    $("messages").replaceChildren();
    closePassage();
    input.focus();
  });
  const claim = $("claim");
  $("check").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = claim.value.trim();
    if (!text || checking) return;
    check(text);
  });
  claim.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("check").requestSubmit();
    }
  });
  // Tabs as ARIA describes them: a click selects and goes to the text box; arrows, Home and End move between tabs.
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  for (const tab of tabs) {
    tab.addEventListener("click", () => {
      selectMode(tab);
      $(tab.getAttribute("aria-controls")).querySelector("textarea").focus();
    });
    tab.addEventListener("keydown", (event) => {
      const at = tabs.indexOf(tab);
      const to = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: tabs.length - 1 }[event.key];
      if (to === undefined) return;
      event.preventDefault();
      const next = tabs[(to + tabs.length) % tabs.length];
      selectMode(next);
      next.focus();
    });
  }
  $("passage-close").addEventListener("click", closePassage);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !$("passage").hidden) closePassage();
  });
  loadArticles();
  input.focus();
});
