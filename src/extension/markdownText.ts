import { displayText } from '../core/displayText';

/**
 * Text from Redis or NATS (replica ids, services, error messages, published_by) as plain text inside
 * Markdown: control characters and bidi overrides made visible (displayText), Markdown syntax and
 * `$(icon)` escaped, so that a report cannot format, link or spoof the tooltip. (appendText would
 * turn every space into &nbsp;.)
 */
export const markdownText = (text: string) => displayText(text).replace(/[\\`*_{}[\]()#+\-.!|<>$~]/g, '\\$&');
