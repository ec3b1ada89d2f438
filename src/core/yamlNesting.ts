import { MAX_NESTING_DEPTH } from './documentModel';

/** The text nests deeper than the limit; `offset` is where the first collection too deep starts. */
export class YamlTooDeep extends Error {
  constructor(readonly offset: number) {
    super(`YAML nests deeper than the limit at offset ${offset}`);
  }
}

interface OpenBlock {
  column: number;
  sequence: boolean;
}

// Markers the `yaml` lexer inserts that are not source text: document mode, scalar follows.
const DOCUMENT_MODE = '\x02';
const SCALAR_FOLLOWS = '\x1f';
// The lexer gave up on a flow collection (bad indentation): it reads on in block context.
const FLOW_ABANDONED = '\x18';

/**
 * Counts the collections open at each lexical token of the `yaml` lexer: flow brackets, and block
 * mappings and sequences by their columns (a block collection ends where a line starts left of
 * it; a sequence also ends at a line that starts at its column without a dash). It throws
 * {@link YamlTooDeep} at the first collection past the limit, before the `yaml` parser builds
 * anything: that parser's time grows much faster than the text on deep nesting (100,000 brackets
 * take 2 s, a million exhaust the memory), so the depth must be known from the tokens alone.
 *
 * For valid YAML the count is the true depth of objects and arrays (aliases aside: the composer
 * counts those); for invalid YAML it may be more, which only moves where the reading stops.
 */
export class YamlNestingScanner {
  /** The deepest nesting seen so far (for tests). */
  deepest = 0;
  private offset = 0;
  private lineStart = 0;
  private atLineStart = true;
  private flowDepth = 0;
  private readonly blocks: OpenBlock[] = [];
  /** Where the node that may turn out to be a mapping key starts (-1: none since the last indicator). */
  private keyOffset = -1;
  private keyColumn = 0;
  /** The next lexeme is a scalar's source (whatever its first character). */
  private scalarNext = false;
  /** A block scalar header (| or >) came last: the next scalar is its body, lines of text. */
  private blockScalarHeader = false;

  constructor(private readonly max = MAX_NESTING_DEPTH) {}

  /** Takes the next lexeme, in the order the lexer yields them. */
  next(lexeme: string): void {
    if (lexeme === DOCUMENT_MODE) return;
    if (lexeme === SCALAR_FOLLOWS) {
      this.scalarNext = true;
      return;
    }
    if (lexeme === FLOW_ABANDONED) {
      this.flowDepth = 0;
      return;
    }
    const at = this.offset;
    this.offset += lexeme.length;
    const scalar = this.scalarNext;
    this.scalarNext = false;
    if (scalar && this.blockScalarHeader) {
      // A block scalar's body: its indentation and line breaks are text, not structure.
      this.blockScalarHeader = false;
      this.passLines(lexeme, at);
      return;
    }
    if (!scalar) {
      const first = lexeme.charCodeAt(0);
      if (lexeme === '' || lexeme === '\n' || lexeme === '\r\n') {
        this.newLine(this.offset);
        return;
      }
      // Indentation and separation, comments, directives, a byte-order mark: no node starts here.
      if (first === 32 || first === 9 || first === 35 || first === 37 || first === 0xfeff) return;
    }
    this.blockScalarHeader = !scalar && (lexeme[0] === '|' || lexeme[0] === '>');
    if (!scalar && (lexeme === '---' || lexeme === '...')) {
      this.blocks.length = 0;
      this.flowDepth = 0;
      this.atLineStart = false;
      this.keyOffset = -1;
      return;
    }
    const column = at - this.lineStart;
    if (this.flowDepth > 0) {
      if (!scalar && (lexeme === '[' || lexeme === '{')) this.openFlow(at);
      else if (!scalar && (lexeme === ']' || lexeme === '}')) this.flowDepth--;
    } else {
      if (this.atLineStart) this.closeBlocksLeftOf(column, !scalar && lexeme === '-');
      switch (scalar ? '' : lexeme) {
        case '-':
          this.openBlock(column, true, at);
          this.keyOffset = -1;
          break;
        case '?':
          this.openBlock(column, false, at);
          this.keyOffset = -1;
          break;
        case ':':
          // An explicit value (":" first on its line) belongs to the mapping at its own column.
          if (this.keyOffset < 0) this.openBlock(column, false, at);
          else this.openBlock(this.keyColumn, false, this.keyOffset);
          this.keyOffset = -1;
          break;
        case '[':
        case '{':
          this.markKey(at, column);
          this.openFlow(at);
          break;
        case ']':
        case '}':
        case ',':
          break; // stray flow indicators in block context: the parser reports them
        default:
          if (scalar && lexeme.includes('\n')) this.multiLineScalar(lexeme, at);
          else this.markKey(at, column); // a scalar, alias, anchor, tag or block scalar header
      }
    }
    this.atLineStart = false;
    this.passLines(lexeme, at);
  }

  /** Multi-line scalars (quoted, plain, block) carry their line breaks inside one token. */
  private passLines(lexeme: string, at: number): void {
    const lastBreak = lexeme.lastIndexOf('\n');
    if (lastBreak !== -1) {
      this.lineStart = at + lastBreak + 1;
      if (lastBreak === lexeme.length - 1) this.newLine(this.lineStart);
      else this.atLineStart = false;
    }
  }

  private newLine(lineStart: number): void {
    this.lineStart = lineStart;
    this.atLineStart = true;
    this.keyOffset = -1;
  }

  /**
   * A plain or quoted scalar over several lines. Valid YAML indents its continuation lines deeper
   * than the collection it is in, so they close nothing; but after an unclosed `[` the lexer reads
   * whole lines of a mapping as one such scalar followed by `:`. Counting that key at its last
   * line, as a line of its own, keeps one block per column instead of a new one per line (which
   * once reported a missing `]` as nesting past the limit).
   */
  private multiLineScalar(lexeme: string, at: number): void {
    const lastLine = at + lexeme.lastIndexOf('\n') + 1;
    let first = lastLine;
    while (first < at + lexeme.length && (lexeme.charCodeAt(first - at) === 32 || lexeme.charCodeAt(first - at) === 9)) first++;
    const column = first - lastLine;
    this.closeBlocksLeftOf(column, false);
    this.keyOffset = first;
    this.keyColumn = column;
  }

  private markKey(at: number, column: number): void {
    if (this.keyOffset >= 0) return;
    this.keyOffset = at;
    this.keyColumn = column;
  }

  /** A line's first token at `column` ends the block collections it is left of. */
  private closeBlocksLeftOf(column: number, dash: boolean): void {
    const blocks = this.blocks;
    for (;;) {
      const top = blocks[blocks.length - 1];
      // A sequence may sit at its parent key's column; a line there without a dash ends it.
      if (top && (top.column > column || (top.column === column && top.sequence && !dash))) blocks.pop();
      else return;
    }
  }

  private openBlock(column: number, sequence: boolean, at: number): void {
    const top = this.blocks[this.blocks.length - 1];
    if (top && top.column === column && top.sequence === sequence) return; // the next entry of the same collection
    this.blocks.push({ column, sequence });
    this.check(at);
  }

  private openFlow(at: number): void {
    this.flowDepth++;
    this.check(at);
  }

  private check(at: number): void {
    const depth = this.blocks.length + this.flowDepth;
    if (depth > this.deepest) this.deepest = depth;
    if (depth > this.max) throw new YamlTooDeep(at);
  }
}
