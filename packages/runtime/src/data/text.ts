/** Small text helpers shared by the parser, the value checks and the messages. */

/** User text shown in a message, cut to a readable length. */
export function shorten(text: string, max = 40): string {
  const chars = Array.from(text);
  const cut = chars.length > max ? chars.slice(0, max).join('') + '…' : text;
  // Control characters (newlines, NUL) would break a one-line message.
  return cut.replace(/[\u0000-\u001f\u007f`]/g, (c) => (c === '`' ? "'" : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

/** True when the text holds a UTF-16 surrogate that is not part of a pair (no database stores one faithfully). */
export function hasLoneSurrogate(text: string): boolean {
  for (let k = 0; k < text.length; k++) {
    const c = text.charCodeAt(k);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = text.charCodeAt(k + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        k++;
        continue;
      }
      return true;
    }
    if (c >= 0xdc00 && c <= 0xdfff) return true;
  }
  return false;
}
