/**
 * Offset <-> line/character conversion (0-based, UTF-16 characters, as VS Code counts). Lines end
 * at LF, CRLF or a CR alone, as in VS Code and YAML 1.2.
 */
export class TextLines {
  private readonly lineStarts: number[];

  constructor(private readonly text: string) {
    const starts = [0];
    if (text.includes('\r')) {
      const lineBreak = /\r\n?|\n/g;
      for (let match = lineBreak.exec(text); match; match = lineBreak.exec(text)) starts.push(match.index + match[0].length);
    } else {
      let i = text.indexOf('\n');
      while (i !== -1) {
        starts.push(i + 1);
        i = text.indexOf('\n', i + 1);
      }
    }
    this.lineStarts = starts;
  }

  get lineCount(): number {
    return this.lineStarts.length;
  }

  positionAt(offset: number): { line: number; character: number } {
    const clamped = Math.max(0, Math.min(offset, this.text.length));
    let low = 0;
    let high = this.lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.lineStarts[mid] <= clamped) low = mid;
      else high = mid - 1;
    }
    return { line: low, character: clamped - this.lineStarts[low] };
  }

  offsetAt(line: number, character: number): number {
    if (line >= this.lineStarts.length) return this.text.length;
    return Math.min(this.lineStarts[line] + character, this.text.length);
  }
}

/**
 * Where the line that a change ends on starts in the text after it, and its number, from the change
 * alone (VS Code's positionAt would re-add the lengths of every line below the edit, on every
 * keystroke). A change's range and offset are in the text the previous changes left, as VS Code
 * sends them. Undefined for a text with a lone CR (VS Code breaks lines there; the worker's
 * check then takes the slow path rather than guess).
 */
export function lineEndingChange(change: { range: { start: { line: number; character: number } }; rangeOffset: number; text: string }): { line: number; offset: number } | undefined {
  const { text } = change;
  let breaks = 0;
  let lastBreak = -1;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) {
    breaks++;
    lastBreak = at;
  }
  for (let at = text.indexOf('\r'); at !== -1; at = text.indexOf('\r', at + 1)) if (text.charCodeAt(at + 1) !== 10) return undefined;
  return lastBreak === -1
    ? { line: change.range.start.line, offset: change.rangeOffset - change.range.start.character }
    : { line: change.range.start.line + breaks, offset: change.rangeOffset + lastBreak + 1 };
}
