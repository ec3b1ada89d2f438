import type { Command } from 'commander';
import type { DocumentKind } from '../core/classify';
import { TextLines } from '../core/textLines';
import { formatProblem, loadDocument, parseKind } from './documentInput';

export function registerValidateCommand(program: Command): void {
  program
    .command('validate')
    .description('Check config documents, section files and drift policies against their schemas, as replicas will.')
    .argument('<files...>', 'YAML or JSON files')
    .option('--kind <kind>', 'treat every file as config | pools | timeouts | policy (default: by file name and content)', parseKind)
    .option('-q, --quiet', 'print errors only, no warnings and no summary')
    .addHelpText(
      'after',
      `
Prints one line per problem: file:line:col: error|warning: message [code]
Exit status: 0 no errors (warnings allowed), 1 errors found, 2 a file could not be read.

Examples:
  driftlens validate cfg.system.default.yaml drift-policy.yaml
  driftlens validate --kind pools config/pools.yaml
`,
    )
    .action(async (files: string[], options: { kind?: DocumentKind; quiet?: boolean }) => {
      let errors = 0;
      let warnings = 0;
      for (const file of files) {
        const { text, analysis } = await loadDocument(file, options.kind);
        const lines = new TextLines(text);
        const sorted = [...analysis.problems].sort((a, b) => a.span.start - b.span.start);
        for (const p of sorted) {
          if (p.severity === 'error') errors++;
          else warnings++;
          if (options.quiet && p.severity !== 'error') continue;
          process.stdout.write(formatProblem(file, lines, p) + '\n');
        }
      }
      if (!options.quiet) {
        const summary = `${files.length} file${files.length === 1 ? '' : 's'} checked: ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`;
        process.stderr.write(summary + '\n');
      }
      process.exitCode = errors > 0 ? 1 : 0;
    });
}
