import { isUtf8 } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { MAX_DOCUMENT_BYTES } from './document';
import { problem, type Problem } from './problems';

/**
 * A document's bytes as text, decoded as VS Code opens a UTF-8 file: a leading byte-order mark
 * dropped, bytes that are not UTF-8 replaced by U+FFFD. The replacement is not silent here: each
 * run of such bytes is an error at its place, with its byte offset, because the data read would not
 * be what the file says (a Latin-1 "é" would be published as "�").
 */
export function decodeDocumentBytes(bytes: Uint8Array): { text: string; problems: Problem[] } {
  const text = new TextDecoder('utf-8').decode(bytes);
  if (isUtf8(bytes)) return { text, problems: [] };
  return { text, problems: invalidUtf8Problems(bytes) };
}

/** Past this many places, a file is in another encoding altogether; one more problem says so. */
const MAX_REPORTED_RUNS = 100;

interface InvalidRun {
  byteStart: number;
  byteEnd: number;
  textStart: number;
  textEnd: number;
}

function invalidUtf8Problems(bytes: Uint8Array): Problem[] {
  const runs = invalidRuns(bytes, MAX_REPORTED_RUNS + 1);
  const problems = runs.slice(0, MAX_REPORTED_RUNS).map((run) => {
    const shown = Array.from(bytes.subarray(run.byteStart, Math.min(run.byteEnd, run.byteStart + 4)), (b) => '0x' + b.toString(16).toUpperCase().padStart(2, '0')).join(' ');
    const count = run.byteEnd - run.byteStart;
    const what = count === 1 ? `Byte ${shown} at byte offset ${run.byteStart} is` : `${count} bytes (${shown}${count > 4 ? ' …' : ''}) at byte offset ${run.byteStart} are`;
    return problem(
      { start: run.textStart, end: run.textEnd },
      `${what} not valid UTF-8; DriftLens reads ${count === 1 ? 'it' : 'them'} as U+FFFD (�), so the data would not be what the file says. Save the file as UTF-8.`,
      'invalid-utf8',
    );
  });
  if (runs.length > MAX_REPORTED_RUNS) {
    const at = runs[MAX_REPORTED_RUNS];
    problems.push(
      problem({ start: at.textStart, end: at.textEnd }, `More bytes that are not UTF-8 follow from byte offset ${at.byteStart}; the file is probably in another encoding (such as Latin-1). Save it as UTF-8.`, 'invalid-utf8'),
    );
  }
  return problems;
}

/**
 * Where the decoder replaced bytes, in bytes and in text offsets, following the WHATWG UTF-8
 * decoder that TextDecoder implements (one U+FFFD per maximal invalid subsequence), so that the
 * text offsets land on the replacement characters. Adjacent replacements form one run.
 */
function invalidRuns(bytes: Uint8Array, limit: number): InvalidRun[] {
  const runs: InvalidRun[] = [];
  let i = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0; // the BOM is dropped
  let textOffset = 0;
  const replace = (byteStart: number, byteEnd: number) => {
    const last = runs[runs.length - 1];
    if (last && last.byteEnd === byteStart) {
      last.byteEnd = byteEnd;
      last.textEnd = textOffset + 1;
    } else {
      runs.push({ byteStart, byteEnd, textStart: textOffset, textEnd: textOffset + 1 });
    }
    textOffset++;
  };
  while (i < bytes.length && runs.length < limit) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      textOffset++;
      continue;
    }
    let needed: number;
    let lower = 0x80;
    let upper = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) needed = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      needed = 2;
      if (b === 0xe0) lower = 0xa0;
      if (b === 0xed) upper = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      needed = 3;
      if (b === 0xf0) lower = 0x90;
      if (b === 0xf4) upper = 0x8f;
    } else {
      replace(i, i + 1);
      i++;
      continue;
    }
    let j = i + 1;
    let seen = 0;
    while (seen < needed && j < bytes.length && bytes[j] >= lower && bytes[j] <= upper) {
      lower = 0x80;
      upper = 0xbf;
      j++;
      seen++;
    }
    if (seen < needed) {
      replace(i, j); // the maximal subpart; the byte that broke it is read afresh
    } else {
      textOffset += needed === 3 ? 2 : 1; // four bytes make a surrogate pair
    }
    i = j;
  }
  return runs;
}

/**
 * For an editor's text of a saved file: where the file's bytes are not UTF-8, as the CLI says it.
 * Only when the text shows replacement characters (the file is read again just then) and the editor
 * decoded the file as UTF-8 (not a guessed encoding), so that the offsets hold.
 */
export function savedFileEncodingProblems(text: string, fsPath: string | undefined): Problem[] | undefined {
  if (fsPath === undefined || !text.includes('\ufffd')) return undefined;
  try {
    const bytes = readFileSync(fsPath);
    if (bytes.length > MAX_DOCUMENT_BYTES) return undefined;
    const decoded = decodeDocumentBytes(bytes);
    return decoded.text === text ? decoded.problems : undefined;
  } catch {
    return undefined; // the file went away or cannot be read: the text is all there is
  }
}
