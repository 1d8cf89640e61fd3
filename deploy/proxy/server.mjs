// The Discord REST proxy every Labelbot process of a cluster sends its REST requests through, so the per-token
// limits (50 requests/s globally, the per-route buckets) are kept once for the whole cluster. It is discord.js's own
// proxy: the @discordjs/rest queue with @discordjs/proxy's answers (see `proxy` below for the one change), configured
// from the environment:
//   PORT               where it listens (default 8080)
//   DISCORD_API        the upstream REST base without the version (default https://discord.com/api)
//   GLOBAL_PER_SECOND  the global limit it paces to (default 50, Discord's; set what Discord granted a large bot)
//   HOST               the address it binds (default 0.0.0.0)
//   OFFSET_MS          how long past a window's reset queued requests wait (default 50, discord.js's), against clock
//                      and latency drift between the proxy's windows and Discord's
//   REJECT_AFTER       a request whose bucket resets later than this many seconds is answered 429 with Retry-After
//                      at once instead of held (default 10): the bot hands such a job back until then (no retry storm)
// Point each bot at it with discord.api_base = "http://<proxy>:<port>/api/v10".
import { createServer } from 'node:http';
import process from 'node:process';
import { URL } from 'node:url';
import { populateErrorResponse, populateSuccessfulResponse } from '@discordjs/proxy';
import { REST } from '@discordjs/rest';

const port = Number.parseInt(process.env.PORT ?? '8080', 10);
const host = process.env.HOST ?? '0.0.0.0';
const api = (process.env.DISCORD_API ?? 'https://discord.com/api').replace(/\/+$/, '');
const globalRequestsPerSecond = Number.parseInt(process.env.GLOBAL_PER_SECOND ?? '50', 10);
const rejectAfterMs = Number.parseFloat(process.env.REJECT_AFTER ?? '10') * 1000;
const offset = Number.parseInt(process.env.OFFSET_MS ?? '50', 10);

// The token comes with each request (the bots' Authorization header); the proxy holds none of its own.
const rest = new REST({
  api,
  version: '10',
  globalRequestsPerSecond,
  offset,
  // Short waits (the global window, a channel's 5 s) are queued here; long ones (crossposts' hour) are refused.
  rejectOnRateLimit: (limit) => limit.timeToReset > rejectAfterMs,
});

// proxyRequests from @discordjs/proxy, except that the body is read whole first: it streams the bot's request
// straight into the upstream one, so a request @discordjs/rest retries (after a 429 or a 5xx) went out empty
// ("Cannot send an empty message").
async function proxy(req, res) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const parsedUrl = new URL(req.url, 'http://noop');
  const headers = { 'Content-Type': req.headers['content-type'] };
  for (const name of ['authorization', 'x-audit-log-reason']) {
    if (req.headers[name]) headers[name] = req.headers[name];
  }
  try {
    const response = await rest.queueRequest({
      body: chunks.length ? Buffer.concat(chunks) : undefined,
      fullRoute: parsedUrl.pathname.replace(/^\/api(\/v\d+)?/, ''),
      method: req.method,
      auth: false,
      passThroughBody: true,
      query: parsedUrl.searchParams,
      headers,
    });
    await populateSuccessfulResponse(res, response);
  } catch (error) {
    if (!populateErrorResponse(res, error)) throw error;
  } finally {
    res.end();
  }
}

// A bot process that dies (or times out) mid-request closes its socket; unhandled, that error would stop the
// proxy for every other process of the cluster.
const server = createServer((req, res) => {
  proxy(req, res).catch((error) => {
    if (error?.code !== 'ERR_STREAM_PREMATURE_CLOSE') {
      console.error(`${req.method} ${req.url} failed:`, error);
    }
    if (!res.headersSent && !res.destroyed) {
      res.statusCode = 502;
    }
    if (!res.writableEnded) res.end();
  });
});
// Longer than the bots' HTTP keep-alive (aiohttp keeps an idle connection 15 s): with node's 5 s, a bot reusing a
// connection the proxy was closing got "Server disconnected" mid-burst.
server.keepAliveTimeout = 75_000;
server.headersTimeout = 80_000;
process.on('unhandledRejection', (error) => console.error('unhandled rejection:', error));
server.listen(port, host, () => {
  console.log(`Discord REST proxy listening on http://${host}:${port}, forwarding to ${api}`);
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
