/**
 * The `strongroom` command: `start` (the whole local deployment), `serve-iam` / `serve-region` (one process each,
 * as the launcher runs them), and `iam ...` administration (users, projects, access keys).
 */
import { parseArgs } from 'node:util';
import { iamDir, readDeployment, regionDir, topologyOf } from '../deployment.js';
import { KmsError } from '../errors.js';
import { generatePassword } from '../iam/passwords.js';
import { openIam, startIam } from '../iam-server.js';
import { startRegion, type RunningServer } from '../region-server.js';
import { start } from './launcher.js';

const USAGE = `usage: strongroom <command> [options]

  start [--data-dir DIR] [--port BASE] [--regions a,b,c] [--host H]
        IAM on BASE (8100), regions on BASE+1..BASE+N, data in DIR (./data)
  serve-iam --data-dir DIR                 run the IAM process of a deployment
  serve-region --data-dir DIR --region ID  run one region process of a deployment
  iam create-user --domain NAME --name USER [--password P] [--data-dir DIR]
  iam create-project --domain NAME --name NAME --region ID [--data-dir DIR]
  iam create-access-key --domain NAME --user USER [--data-dir DIR]
  iam list-projects --domain NAME [--data-dir DIR]`;

function fail(message: string): never {
  console.error(`strongroom: ${message}\n\n${USAGE}`);
  process.exit(2);
}

async function serveUntilSignal(server: RunningServer): Promise<void> {
  const stop = async () => {
    await server.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

async function iamCommand(sub: string | undefined, values: Record<string, string | undefined>): Promise<void> {
  const { iam, close } = await openIam(iamDir(values['data-dir'] ?? './data'));
  const need = (name: string) => values[name] ?? fail(`--${name} is required`);
  try {
    const domain = await iam.domainByName(need('domain'));
    switch (sub) {
      case 'create-user': {
        const password = values.password ?? generatePassword();
        const user = await iam.createUser(domain.id, need('name'), password);
        console.log(JSON.stringify({ user_id: user.id, user_name: user.name, domain_id: domain.id, password }, null, 2));
        break;
      }
      case 'create-project': {
        const p = await iam.createProject(domain.id, need('name'), need('region'));
        console.log(JSON.stringify({ project_id: p.id, name: p.name, region: p.region }, null, 2));
        break;
      }
      case 'create-access-key': {
        const user = await iam.userByName(domain.id, need('user'));
        const key = await iam.createAccessKey(user.id);
        console.log(JSON.stringify({ access_key: key.accessKey, secret_key: key.secretKey }, null, 2));
        break;
      }
      case 'list-projects':
        console.log(JSON.stringify((await iam.listProjects(domain.id)).map((p) => ({ project_id: p.id, name: p.name, region: p.region })), null, 2));
        break;
      default:
        fail(`unknown iam command ${sub ?? ''}`);
    }
  } finally {
    await close();
  }
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'data-dir': { type: 'string' }, port: { type: 'string' }, regions: { type: 'string' }, host: { type: 'string' },
      region: { type: 'string' }, domain: { type: 'string' }, name: { type: 'string' }, password: { type: 'string' },
      user: { type: 'string' }, help: { type: 'boolean' },
    },
  });
  const [command, sub] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return;
  }
  const dataDir = values['data-dir'] ?? './data';
  switch (command) {
    case 'start': {
      const port = Number(values.port ?? 8100);
      if (!Number.isInteger(port) || port < 1 || port > 65000) fail('--port must be a port number');
      const regions = (values.regions ?? 'cn-north-4,cn-south-1,cn-east-3').split(',').map((r) => r.trim()).filter(Boolean);
      if (regions.length === 0) fail('--regions needs at least one region id');
      return start({ dataDir, basePort: port, regions, host: values.host ?? '127.0.0.1' });
    }
    case 'serve-iam': {
      const d = readDeployment(dataDir);
      const server = await startIam({
        dataDir: iamDir(dataDir), topology: topologyOf(d), internalSecret: Buffer.from(d.internal_secret, 'hex'),
        iamEndpoint: d.iam.endpoint, host: d.host, port: d.iam.port, logger: { level: 'info' },
      });
      return serveUntilSignal(server);
    }
    case 'serve-region': {
      const d = readDeployment(dataDir);
      const r = d.regions.find((x) => x.id === values.region) ?? fail(`region ${values.region ?? '(none)'} is not in the deployment`);
      const server = await startRegion({
        region: r.id, dataDir: regionDir(dataDir, r.id), topology: topologyOf(d), iamEndpoint: d.iam.endpoint,
        internalSecret: Buffer.from(d.internal_secret, 'hex'), keyQuota: d.key_quota, host: d.host, port: r.port, logger: { level: 'info' },
        peerTimeoutMs: d.peer_timeout_ms, outboxMaxBackoffMs: d.outbox_max_backoff_ms,
      });
      return serveUntilSignal(server);
    }
    case 'iam':
      return iamCommand(sub, values as Record<string, string | undefined>);
    default:
      fail(`unknown command ${command}`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(`strongroom: ${err instanceof KmsError ? err.message : (err as Error).stack ?? String(err)}`);
  process.exit(1);
});
