/** A half-open range of UTF-16 offsets into the document text (what VS Code and `yaml` count). */
export interface Span {
  start: number;
  end: number;
}

export type Severity = 'error' | 'warning' | 'info';

/** One thing wrong with a document, at the place a person fixes it. */
export interface Problem {
  span: Span;
  severity: Severity;
  message: string;
  /** A stable identifier: the JSON-Schema keyword (`required`, `type`, ...) or a DriftLens code (`yaml-syntax`, `duplicate-key`, ...). */
  code: string;
}

export function problem(span: Span, message: string, code: string, severity: Severity = 'error'): Problem {
  return { span, severity, message, code };
}
