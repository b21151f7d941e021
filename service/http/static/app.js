// Citewire's page: the indexed articles, a chat with streamed answers, and the passage behind each [n].
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
    openPassage(citation);
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

// ---- Passage panel ----------------------------------------------------------------------------

let passageRequest = 0;

async function openPassage(citation) {
  const panel = $("passage");
  const request = ++passageRequest;
  panel.hidden = false;
  document.body.classList.add("with-passage");
  $("passage-title").textContent = citation.title;
  $("passage-meta").textContent = joinMeta(`[${citation.n}]`, citation.source, day(citation.published_at));
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
  $("passage-close").addEventListener("click", closePassage);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !$("passage").hidden) closePassage();
  });
  loadArticles();
  input.focus();
});
