import { problem, type Problem, type Span } from './problems';

/**
 * The tags both YAML readers accept: YAML 1.2's core schema, whose values JSON carries as they are.
 * Every other tag (YAML 1.1's `!!omap`, `!!set`, `!!binary`, `!!timestamp`, `!!pairs`, local tags
 * such as `!foo`, the non-specific `!`) would give a value replicas cannot get from JSON, or a
 * guess: both readers report it at the tag instead of reading on silently.
 */
export type CoreTag = 'str' | 'int' | 'float' | 'bool' | 'null' | 'map' | 'seq';

const CORE: Record<string, CoreTag> = {
  '!!str': 'str', '!!int': 'int', '!!float': 'float', '!!bool': 'bool', '!!null': 'null', '!!map': 'map', '!!seq': 'seq',
  '!<tag:yaml.org,2002:str>': 'str', '!<tag:yaml.org,2002:int>': 'int', '!<tag:yaml.org,2002:float>': 'float', '!<tag:yaml.org,2002:bool>': 'bool',
  '!<tag:yaml.org,2002:null>': 'null', '!<tag:yaml.org,2002:map>': 'map', '!<tag:yaml.org,2002:seq>': 'seq',
};

/** The core tag a tag's source text names, or undefined for any other tag. */
export function coreTag(source: string): CoreTag | undefined {
  return Object.prototype.hasOwnProperty.call(CORE, source) ? CORE[source] : undefined;
}

export function unsupportedTag(span: Span, source: string): Problem {
  return problem(
    span,
    `Tag ${source} has no JSON meaning: replicas decode the JSON DriftLens publishes, and this value would reach them as something else than written. Remove the tag; DriftLens reads only YAML 1.2's core tags (!!str, !!int, !!float, !!bool, !!null, !!map, !!seq).`,
    'yaml-unsupported-tag',
  );
}

export function tagDoesNotFit(span: Span, source: string): Problem {
  return problem(
    span,
    `The value does not fit its tag ${source} under YAML 1.2's core schema, so its JSON value would be a guess. Remove the tag, or write a value of that type.`,
    'yaml-unsupported-tag',
  );
}

export function tagDirective(span: Span): Problem {
  return problem(span, 'DriftLens does not read %TAG directives: they change what tags mean, and replicas decode plain JSON. Remove it and use no tags, or only core ones (!!str, !!int...).', 'yaml-unsupported-tag');
}

export function repeatedYamlDirective(span: Span): Problem {
  return problem(span, 'A second %YAML directive: a YAML document takes at most one.', 'yaml-syntax');
}
