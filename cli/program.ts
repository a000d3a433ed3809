// Declares the commands and nothing else. Each command's module is imported only when that
// command runs, so `codeshare --help` stays fast. A command's action loads its module, runs it,
// and hands the returned data to emit (JSON with --json, readable lines otherwise).
import { Command, InvalidArgumentError, Option } from 'commander';
import { emit, progressLine } from './output.js';

export function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('expected a port number 0-65535');
  return port;
}

export function parsePositiveInteger(value: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(number) || number < 1) throw new InvalidArgumentError('expected a whole number, 1 or more');
  return number;
}

// Guard limits: `off` stays the word (commander turns a parser's null into ''); the command reads it.
function parseMaxFilesOption(value: string): number | 'off' {
  if (value === 'off') return 'off';
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError('expected a whole number of files, or off');
  return Number(value);
}

function parseMaxShareOption(value: string): number | 'off' {
  if (value === 'off') return 'off';
  const match = /^(\d+(?:\.\d+)?)%?$/.exec(value.trim());
  const percent = match ? Number(match[1]) : NaN;
  if (!(percent > 0 && percent <= 100)) throw new InvalidArgumentError('expected a percentage above 0 and up to 100 (like 20%), or off');
  return percent / 100;
}

const ROLE_CHOICES = ['viewer', 'editor', 'owner'];
const jsonOption = () => new Option('--json', 'print the result as JSON');
const examples = (...lines: string[]) => `\nExample${lines.length > 1 ? 's' : ''}:\n${lines.map((line) => `  ${line}`).join('\n')}`;

export function buildProgram(): Command {
  const program = new Command()
    .name('codeshare')
    .description('Work live in one shared project from your own folders and your own editors.')
    .version('0.1.0')
    .option('--debug', 'show stack traces on errors')
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str) })
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      examples('codeshare server', 'codeshare auth login --name alice', 'codeshare projects', 'codeshare pull alice/demo ./demo'),
    );

  program
    .command('server')
    .description('Run a codeshare server (embedded database unless --database-url is given)')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on; 0 picks a free one', parsePort, 4455)
    .option('--data-dir <dir>', 'folder of the embedded database (default: inside $CODESHARE_HOME)')
    .option('--database-url <url>', 'PostgreSQL URL (postgres://...); also DATABASE_URL')
    .option('--redis-url <url>', 'Redis URL (redis://HOST:PORT): serve together with the other instances on the same PostgreSQL and Redis; also REDIS_URL')
    .addOption(new Option('--auth <mode>', 'sign-in: open (a name is enough) or github').choices(['open', 'github']))
    .option('--log-level <level>', 'pino log level on stderr', 'info')
    .addHelpText('after', examples(
        'codeshare server --port 4455',
        'codeshare server --host 0.0.0.0 --database-url postgres://codeshare@db/codeshare',
        'codeshare server --database-url postgres://codeshare@db/codeshare --redis-url redis://cache:6379   # one of several instances',
      ))
    .action(async (options) => {
      const { runServer } = await import('./commands/server.js');
      await runServer(options);
    });

  const auth = program
    .command('auth')
    .description('Sign in to a codeshare server, see who you are, sign out')
    .addHelpText('after', examples('codeshare auth login', 'codeshare auth status'));

  auth
    .command('login')
    .description('Sign in: GitHub device flow, a name (open mode), or a token from stdin (CI)')
    .option('--server <url>', 'server to sign in to (default: CODESHARE_SERVER, the stored one, or http://127.0.0.1:4455)')
    .option('--name <name>', 'sign in with just a name, on a server in open mode')
    .option('--with-token', 'read a token from stdin and store it (for CI)')
    .option('--github-url <url>', 'GitHub web address, for GitHub Enterprise (default: GITHUB_URL or https://github.com)')
    .addOption(jsonOption())
    .addHelpText(
      'after',
      examples(
        'codeshare auth login',
        'codeshare auth login --server http://127.0.0.1:4455 --name alice',
        'echo "$CODESHARE_TOKEN" | codeshare auth login --with-token --server https://codeshare.example.com',
      ),
    )
    .action(async (options) => {
      const { login, formatLogin } = await import('./commands/auth.js');
      emit(await login(options), options.json, formatLogin);
    });

  auth
    .command('status')
    .description('Show the server, the signed-in user and where the token comes from; exits 1 when not signed in')
    .option('--server <url>', 'server to check (default: CODESHARE_SERVER, the stored one, or http://127.0.0.1:4455)')
    .addOption(jsonOption())
    .addHelpText('after', examples('codeshare auth status', 'codeshare auth status --json'))
    .action(async (options) => {
      const { authStatus, formatAuthStatus } = await import('./commands/auth.js');
      const { CliError } = await import('./errors.js');
      const status = await authStatus(options);
      emit(status, options.json, formatAuthStatus);
      if (!status.signedIn) throw new CliError(status.problem ?? 'not signed in');
    });

  auth
    .command('logout')
    .description('Remove the stored token (and revoke the sign-in session on the server)')
    .addOption(jsonOption())
    .addHelpText('after', examples('codeshare auth logout'))
    .action(async (options) => {
      const { logout, formatLogout } = await import('./commands/auth.js');
      emit(await logout(), options.json, formatLogout);
    });

  program
    .command('projects')
    .description('List the projects you can see: yours, those you are a member of, and public ones')
    .addOption(jsonOption())
    .addHelpText('after', examples('codeshare projects', 'codeshare projects --json'))
    .action(async (options) => {
      const { listProjects, formatProjects } = await import('./commands/projects.js');
      emit(await listProjects(), options.json, formatProjects);
    });

  program
    .command('members')
    .description('List, add and remove the members of a project, or change their role')
    .argument('<project>', 'id, owner/name, a name of your own, or http://host:port/p/owner/name')
    .argument('[action]', 'list (default), add <username>, remove <username>, role <username> <role>')
    .argument('[args...]', 'the username, and for role the new role')
    .addOption(new Option('--role <role>', 'role for add (default: editor)').choices(ROLE_CHOICES))
    .addOption(jsonOption())
    .addHelpText(
      'after',
      examples(
        'codeshare members alice/demo',
        'codeshare members alice/demo add bob --role viewer',
        'codeshare members alice/demo role bob editor',
        'codeshare members alice/demo remove bob',
      ),
    )
    .action(async (project: string, action: string | undefined, args: string[], options) => {
      const { members, parseMembersAction, formatMembers } = await import('./commands/members.js');
      emit(await members(project, parseMembersAction(action, args, options)), options.json, formatMembers);
    });

  const token = program
    .command('token')
    .description('Create, list and revoke API tokens for CI and scripts')
    .addHelpText('after', examples('codeshare token create --project alice/demo --role viewer --expires-in-days 90', 'codeshare token list'));

  token
    .command('create')
    .description('Create an API token; its secret is printed once')
    .option('--name <name>', 'what the token is for (default: "token <date>")')
    .option('--project <project>', 'limit the token to one project (id, owner/name or URL)')
    .addOption(new Option('--role <role>', 'the most the token may do in that project').choices(ROLE_CHOICES))
    .option('--expires-in-days <days>', 'expire after this many days (default: never)', parsePositiveInteger)
    .addOption(jsonOption())
    .addHelpText(
      'after',
      examples(
        'codeshare token create --name ci --project alice/demo --role viewer --expires-in-days 90',
        'codeshare token create --json | jq -r .token',
      ),
    )
    .action(async (options) => {
      const { createToken, formatTokenCreate } = await import('./commands/token.js');
      emit(await createToken(options), options.json, formatTokenCreate);
    });

  token
    .command('list')
    .description('List your tokens (sign-in sessions and API tokens), never their secrets')
    .addOption(jsonOption())
    .addHelpText('after', examples('codeshare token list'))
    .action(async (options) => {
      const { listTokens, formatTokenList } = await import('./commands/token.js');
      emit(await listTokens(), options.json, formatTokenList);
    });

  token
    .command('revoke')
    .description('Revoke a token: it stops working at once')
    .argument('<id>', 'the token id, from `codeshare token list`')
    .addOption(jsonOption())
    .addHelpText('after', examples('codeshare token revoke 3f2a9c4e-0b1d-4e8a-9c7f-5d6e7f8a9b0c'))
    .action(async (id: string, options) => {
      const { revokeToken, formatTokenRevoke } = await import('./commands/token.js');
      emit(await revokeToken(id), options.json, formatTokenRevoke);
    });

  program
    .command('pull')
    .description("Write a project's current files into a folder, once, without a daemon (for CI)")
    .argument('<project>', 'id, owner/name, a name of your own, or http://host:port/p/owner/name')
    .argument('[dir]', "folder to write into (default: the project's name); created if missing")
    .option('--delete', 'also remove local files the project does not have (never .git/ or ignored files)')
    .option('--concurrency <n>', 'downloads in flight at once', parsePositiveInteger, 16)
    .addOption(jsonOption())
    .addHelpText(
      'after',
      examples(
        'codeshare pull alice/demo',
        'CODESHARE_TOKEN=... codeshare pull http://127.0.0.1:4455/p/alice/demo ./src --delete --json',
      ),
    )
    .action(async (project: string, dir: string | undefined, options) => {
      const { pull, formatPull, pullFailure } = await import('./commands/pull.js');
      const progress = options.json ? undefined : progressLine('pulling');
      const result = await pull({ project, dir, delete: options.delete, concurrency: options.concurrency, onProgress: progress?.update }).finally(
        () => progress?.done(),
      );
      emit(result, options.json, formatPull);
      const failure = pullFailure(result);
      if (failure) throw failure;
    });

  program
    .command('share')
    .description('Share a folder as a new project and keep it live (the daemon syncs it in the background)')
    .argument('[dir]', 'the folder to share (default: the current one)')
    .option('--name <name>', "the project's name (default: the folder's name)")
    .addOption(new Option('--visibility <visibility>', 'who may read it').choices(['private', 'public']).default('private'))
    .option('--server <url>', 'server to share on (default: the signed-in one)')
    .addOption(jsonOption())
    .addHelpText('after', examples('codeshare share', 'codeshare share ~/code/app --name app --visibility public'))
    .action(async (dir: string | undefined, options) => {
      const { share, formatLiveFolder } = await import('./commands/share.js');
      const { runLive } = await import('./live.js');
      await runLive(dir, options.json, (onEvent) => share({ dir, name: options.name, visibility: options.visibility, server: options.server, onEvent }), formatLiveFolder('Shared'));
    });

  program
    .command('join')
    .description("Mirror a project into a folder and keep it live; differing local files are backed up first")
    .argument('<project>', 'owner/name, a project id, or the URL `codeshare share` printed')
    .argument('[dir]', "the folder (default: this one when it is a git clone's top, a new folder named after the project otherwise)")
    .option('--keep-local', 'where a local file differs, push the local version instead of taking the project\'s')
    .addOption(jsonOption())
    .addHelpText('after', examples('codeshare join alice/app', 'codeshare join http://127.0.0.1:4455/p/alice/app ~/code/app --keep-local'))
    .action(async (project: string, dir: string | undefined, options) => {
      const { join, formatJoin } = await import('./commands/join.js');
      const { runLive } = await import('./live.js');
      await runLive(dir ?? null, options.json, (onEvent) => join({ project, dir, keepLocal: options.keepLocal, onEvent }), formatJoin);
    });

  program
    .command('leave')
    .description('Stop syncing a folder; its files stay as they are')
    .argument('[dir]', 'the folder (default: the current one)')
    .addOption(jsonOption())
    .addHelpText('after', examples('codeshare leave', 'codeshare leave ~/code/app'))
    .action(async (dir: string | undefined, options) => {
      const { leave, formatLeave } = await import('./commands/leave.js');
      emit(await leave(dir), options.json, formatLeave);
    });

  program
    .command('resume')
    .description('Decide on a folder paused before sending changes that would discard teammates\' work')
    .argument('[dir]', 'the folder (default: the current one)')
    .option('--restore', "bring the project's version back here instead of sending (what this folder held is backed up)")
    .addOption(jsonOption())
    .addHelpText('after', examples('codeshare resume', 'codeshare resume --restore', 'codeshare resume ~/code/app --restore'))
    .action(async (dir: string | undefined, options) => {
      const { resume, formatResume } = await import('./commands/resume.js');
      emit(await resume(dir, options), options.json, formatResume);
    });

  program
    .command('guard')
    .description('Show or change when a burst of deleted or emptied files pauses the folder before sending')
    .argument('[dir]', 'the folder (default: the current one)')
    .option('--max-files <n|off>', 'pause when a burst removes more files than this', parseMaxFilesOption)
    .option('--max-share <percent|off>', "pause when a burst removes more than this share of the project's files", parseMaxShareOption)
    .option('--default', 'go back to the default (more than 20% of the files, or more than 200)')
    .addOption(jsonOption())
    .addHelpText('after', examples('codeshare guard', 'codeshare guard --max-files 1000 --max-share 50%', 'codeshare guard --max-files off --max-share off'))
    .action(async (dir: string | undefined, options) => {
      const { guard, formatGuard } = await import('./commands/guard.js');
      emit(await guard(dir, options), options.json, formatGuard);
    });

  program
    .command('status')
    .description('Show the daemon, the synced folders, their sync state and who is online')
    .addOption(jsonOption())
    .addHelpText('after', examples('codeshare status', 'codeshare status --json'))
    .action(async (options) => {
      const { status, formatStatus } = await import('./commands/status.js');
      emit(await status(), options.json, formatStatus);
    });

  const daemon = program
    .command('daemon')
    .description('Control the background daemon that syncs your folders')
    .addHelpText('after', examples('codeshare daemon status', 'codeshare daemon logs --lines 100'));
  daemon
    .command('start')
    .description('Start the daemon (share and join start it when needed)')
    .addOption(jsonOption())
    .addHelpText('after', examples('codeshare daemon start'))
    .action(async (options) => {
      const { daemonStart } = await import('./commands/daemon.js');
      emit(await daemonStart(), options.json, (r) => [r.started ? `Daemon started (pid ${r.pid}).` : `Daemon already running (pid ${r.pid}).`]);
    });
  daemon
    .command('stop')
    .description('Stop the daemon; synced folders resume when it starts again')
    .addOption(jsonOption())
    .addHelpText('after', examples('codeshare daemon stop'))
    .action(async (options) => {
      const { daemonStop } = await import('./commands/daemon.js');
      emit(await daemonStop(), options.json, (r) => [
        !r.stopped ? 'The daemon was not running.' : r.killed ? 'The daemon did not stop within 30 s and was killed.' : 'Daemon stopped.',
      ]);
    });
  daemon
    .command('status')
    .description('Is the daemon running?')
    .addOption(jsonOption())
    .addHelpText('after', examples('codeshare daemon status --json'))
    .action(async (options) => {
      const { daemonStatus } = await import('./commands/daemon.js');
      emit(await daemonStatus(), options.json, (r) => [
        r.running
          ? `Daemon running (pid ${r.pid}) since ${r.startedAt}, using ${Math.round((r.memory?.rss ?? 0) / 2 ** 20)} MiB.`
          : 'The daemon is not running.',
      ]);
    });
  daemon
    .command('logs')
    .description("Print the end of the daemon's log")
    .option('--lines <n>', 'how many lines', parsePositiveInteger, 50)
    .addHelpText('after', examples('codeshare daemon logs --lines 200'))
    .action(async (options) => {
      const { daemonLogs } = await import('./commands/daemon.js');
      emit(await daemonLogs(options.lines), false, (lines) => lines);
    });
  daemon
    .command('run', { hidden: true })
    .description('Run the daemon in the foreground (what `daemon start` launches)')
    .action(async () => {
      const { daemonRun } = await import('./commands/daemon.js');
      await daemonRun();
    });

  program
    .command('demo')
    .description('See codeshare work: a server, two users, two folders, live edits both ways (nothing to set up)')
    .option('--keep', 'keep the two demo folders afterwards')
    .addOption(jsonOption())
    .addHelpText('after', examples('codeshare demo', 'codeshare demo --keep'))
    .action(async (options) => {
      const { demo, formatDemo } = await import('./commands/demo.js');
      emit(await demo({ keep: options.keep }), options.json, formatDemo);
    });

  program
    .command('ask')
    .description("Ask a question about a project; the answer draws on its files, recent changes and git state")
    .argument('<question>', 'the question (quote it)')
    .option('--project <project>', 'owner/name, id or URL (default: the project synced in the current folder)')
    .option('--session <id>', 'continue this chat session (its id is printed after each answer)')
    .option('--file <path>', 'the file you are looking at, shown to the model (inside a synced folder: relative to where you are; else a path in the project)')
    .addOption(jsonOption())
    .addHelpText(
      'after',
      examples(
        'codeshare ask "where are retries handled?"',
        'codeshare ask --project alice/app --file src/sync.ts "why is this debounced?"',
        'codeshare ask --json --session 3f2a9c4e-0b1d-4e8a-9c7f-5d6e7f8a9b0c "and on the server?"',
      ),
    )
    .action(async (question: string, options) => {
      const { ask, formatAskNotes } = await import('./commands/ask.js');
      const { note } = await import('./output.js');
      const result = await ask(question, { ...options, write: (text) => process.stdout.write(text) });
      if (options.json) emit(result, true, () => []);
      else for (const line of formatAskNotes(result)) note(line);
    });

  program
    .command('chat')
    .description('Chat about a project in the terminal: its AI sessions, with a prompt')
    .option('--project <project>', 'owner/name, id or URL (default: the project synced in the current folder)')
    .option('--session <id>', 'reopen this chat session')
    .addHelpText('after', examples('codeshare chat', 'codeshare chat --project alice/app --session 3f2a9c4e-0b1d-4e8a-9c7f-5d6e7f8a9b0c'))
    .action(async (options) => {
      const { chat } = await import('./commands/chat.js');
      await chat(options);
    });

  return program;
}
