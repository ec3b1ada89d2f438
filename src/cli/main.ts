import { Command, CommanderError } from 'commander';
import { CliError } from './documentInput';
import { registerHashCommand } from './hashCommand';
import { registerLiveCommands } from './liveCommands';
import { stopQuietlyWhenOutputCloses } from './outputPipe';
import { registerReplicaCommands } from './replicaCommands';
import { registerValidateCommand } from './validateCommand';
import { registerVerifyCommand } from './verifyCommand';

// Injected by esbuild from package.json; "dev" when run from compiled tests.
declare const DRIFTLENS_VERSION: string | undefined;

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('driftlens')
    .description('Author, publish and watch runtime config across replicas (Cordum protocol).')
    .version(typeof DRIFTLENS_VERSION === 'string' ? DRIFTLENS_VERSION : 'dev')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerValidateCommand(program);
  registerHashCommand(program);
  registerLiveCommands(program);
  registerReplicaCommands(program);
  registerVerifyCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof CliError) {
      process.stderr.write(`driftlens: ${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  }
}

if (require.main === module) {
  stopQuietlyWhenOutputCloses();
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      // A client library may leave a socket open after a failed connect (nats.js does after a
      // handshake timeout): do not let it keep a finished command alive. Unref'd, so a clean exit
      // is not delayed, and late enough for piped output to drain.
      setTimeout(() => process.exit(code), 2000).unref();
    },
    (e: unknown) => {
      process.stderr.write(`driftlens: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 70;
      // Whatever the failed command left running (timers, sockets) must not keep it alive.
      setTimeout(() => process.exit(70), 2000).unref();
    },
  );
}
