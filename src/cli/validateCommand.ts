import type { Command } from 'commander';
import type { DocumentKind } from '../core/classify';
import { CliError, EXIT, formatProblems, loadDocument, parseKind } from './documentInput';
import { countOf } from '../core/problems';

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
Prints one line per problem: file:line:col: error|warning|note: message [code]
(notes are information, such as a pool no topic routes to; warnings and notes never fail)
(at most 1000 per file, errors first; the last line then says how many more there are).
Exit status: 0 no errors (warnings allowed), 1 errors found, 2 a file could not be read
(the other files are still checked).

Examples:
  driftlens validate cfg.system.default.yaml drift-policy.yaml
  driftlens validate --kind pools config/pools.yaml
`,
    )
    .action(async (files: string[], options: { kind?: DocumentKind; quiet?: boolean }) => {
      let errors = 0;
      let warnings = 0;
      let notes = 0;
      let unreadable = 0;
      for (const file of files) {
        let loaded;
        try {
          loaded = await loadDocument(file, options.kind);
        } catch (e) {
          if (!(e instanceof CliError)) throw e;
          // One unreadable file must not hide the problems of the others.
          process.stderr.write(`driftlens: ${e.message}\n`);
          unreadable++;
          continue;
        }
        const { text, analysis } = loaded;
        for (const p of analysis.problems) {
          if (p.severity === 'error') errors++;
          else if (p.severity === 'warning') warnings++;
          else notes++;
        }
        const listed = options.quiet ? analysis.problems.filter((p) => p.severity === 'error') : analysis.problems;
        for (const line of formatProblems(file, text, listed)) process.stdout.write(line + '\n');
      }
      if (!options.quiet) {
        const checked = files.length - unreadable;
        const summary = `${countOf(checked, 'file')} checked${unreadable > 0 ? `, ${unreadable.toLocaleString('en-US')} could not be read` : ''}: ${countOf(errors, 'error')}, ${countOf(warnings, 'warning')}${notes > 0 ? `, ${countOf(notes, 'note')}` : ''}`;
        process.stderr.write(summary + '\n');
      }
      process.exitCode = unreadable > 0 ? EXIT.usage : errors > 0 ? EXIT.problems : EXIT.ok;
    });
}
