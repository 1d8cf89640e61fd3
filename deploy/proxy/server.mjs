// The Discord REST proxy every Labelbot process of a cluster sends its REST requests through, so the per-token
// limits (50 requests/s globally, the per-route buckets) are kept once for the whole cluster. It is discord.js's own
// @discordjs/proxy (the same code as its proxy container) with the upstream and the port taken from the environment:
//   PORT               where it listens (default 8080)
//   DISCORD_API        the upstream REST base without the version (default https://discord.com/api)
//   GLOBAL_PER_SECOND  the global limit it paces to (default 50, Discord's; set what Discord granted a large bot)
//   HOST               the address it binds (default 0.0.0.0)
//   REJECT_AFTER       a request whose bucket resets later than this many seconds is answered 429 with Retry-After
//                      at once instead of held (default 10): the bot hands such a job back until then (no retry storm)
// Point each bot at it with discord.api_base = "http://<proxy>:<port>/api/v10".
import { createServer } from 'node:http';
import process from 'node:process';
import { proxyRequests } from '@discordjs/proxy';
import { REST } from '@discordjs/rest';

const port = Number.parseInt(process.env.PORT ?? '8080', 10);
const host = process.env.HOST ?? '0.0.0.0';
const api = (process.env.DISCORD_API ?? 'https://discord.com/api').replace(/\/+$/, '');
const globalRequestsPerSecond = Number.parseInt(process.env.GLOBAL_PER_SECOND ?? '50', 10);
const rejectAfterMs = Number.parseFloat(process.env.REJECT_AFTER ?? '10') * 1000;

// The token comes with each request (the bots' Authorization header); the proxy holds none of its own.
const rest = new REST({
  api,
  version: '10',
  globalRequestsPerSecond,
  // Short waits (the global window, a channel's 5 s) are queued here; long ones (crossposts' hour) are refused.
  rejectOnRateLimit: (limit) => limit.timeToReset > rejectAfterMs,
});

const server = createServer(proxyRequests(rest));
server.listen(port, host, () => {
  console.log(`Discord REST proxy listening on http://${host}:${port}, forwarding to ${api}`);
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
