// A case's log folded into what the page shows: messages with their edits, deletions,
// replies and read receipts applied. Pure (no DOM): the log stays as the server keeps it;
// an edit or a deletion changes how its target is shown, never removes it silently, and
// only its own sender may edit or delete a message.

/**
 * @typedef {import("./cases.js").Entry} Entry
 * @typedef {{kind: "message", entry: Entry, body: any, edited: boolean,
 *   deleted: {by: string, at: string}|null, replyTo: Item|null, replyMissing: boolean}} MessageItem
 * @typedef {{kind: "note", entry: Entry, note: string}} NoteItem
 * @typedef {{kind: "read", readers: string[], upTo: number}} ReadItem
 * @typedef {MessageItem|NoteItem|ReadItem} Item
 */

const SHOWN = new Set(["patient", "text", "photo", "file"]);

/**
 * @param {Entry[]} entries in sequence order @param {string} me this person's address
 * @returns {Item[]}
 */
export function thread(entries, me) {
  /** @type {Item[]} */
  const items = [];
  /** @type {Map<string, MessageItem>} */
  const byId = new Map();
  /** Highest sequence each other person has read. @type {Map<string, number>} */
  const readUpTo = new Map();
  for (const entry of entries) {
    const body = entry.body;
    const type = body?.type;
    if (entry.error || !body) {
      if (entry.kind !== "read") items.push({ kind: "note", entry, note: "unreadable" });
      continue;
    }
    if (type === "read" || entry.kind === "read") {
      if (entry.sender !== me && typeof body.upTo === "number") {
        readUpTo.set(entry.sender, Math.max(readUpTo.get(entry.sender) ?? 0, body.upTo));
      }
      continue;
    }
    if (type === "edit" || type === "deletion") {
      const target = byId.get(body.target);
      if (!target || target.entry.sender !== entry.sender) {
        items.push({ kind: "note", entry, note: type === "edit" ? "bad-edit" : "bad-deletion" });
      } else if (type === "edit" && !target.deleted) {
        const field = target.body.type === "text" ? "text" : "caption";
        target.body = { ...target.body, [field]: body.text };
        target.edited = true;
      } else if (type === "deletion") {
        target.deleted = { by: entry.sender, at: entry.at };
      }
      continue;
    }
    if (type === "ack" || entry.kind === "ack") {
      items.push({ kind: "note", entry, note: "ack" });
      continue;
    }
    if (!SHOWN.has(type)) {
      items.push({ kind: "note", entry, note: "unknown" });
      continue;
    }
    const replyTo = body.reply_to ? byId.get(body.reply_to) ?? null : null;
    /** @type {MessageItem} */
    const item = {
      kind: "message",
      entry,
      body,
      edited: false,
      deleted: null,
      replyTo,
      replyMissing: Boolean(body.reply_to) && !replyTo,
    };
    items.push(item);
    byId.set(entry.messageId, item);
  }
  return placeReads(items, readUpTo);
}

/**
 * "read by X" right under the last message each reader's receipt covers.
 * @param {Item[]} items @param {Map<string, number>} readUpTo @returns {Item[]}
 */
function placeReads(items, readUpTo) {
  /** @type {Map<number, string[]>} index of the message → readers */
  const under = new Map();
  for (const [reader, upTo] of readUpTo) {
    let at = -1;
    items.forEach((item, i) => {
      if (item.kind === "message" && item.entry.sequence <= upTo) at = i;
    });
    if (at >= 0) under.set(at, [...(under.get(at) ?? []), reader].sort());
  }
  /** @type {Item[]} */
  const out = [];
  items.forEach((item, i) => {
    out.push(item);
    const readers = under.get(i);
    if (readers && item.kind === "message") {
      out.push({ kind: "read", readers, upTo: item.entry.sequence });
    }
  });
  return out;
}
