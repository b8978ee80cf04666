// The MongoDB session peer for benches/run: what a user would write instead of groundup to
// serve a cookie-authenticated "who am I" from MongoDB, with Express, express-session and
// connect-mongo, set up the way their documentation suggests.
//
//   POST /api/register  {"username","password","email"?}   201 {"id","username","email","created_at"}
//   POST /api/login     {"identifier","password"}          200 {"user",…,"csrf_token"} + Set-Cookie
//   GET  /api/me                                           200 {"user","session","csrf_token"}
//   GET  /health                                           200 ok
//
// Usage: MONGODB_URI=mongodb://… [GROUNDUP_DB=name] node server.js [ADDR]   (default 127.0.0.1:8084)
//
// Users live in MongoDB's `users`, sessions in connect-mongo's `sessions`, in the same database.
// Choices, and why:
// - autoRemove 'interval': connect-mongo's default, 'native', creates a TTL index, which
//   FerretDB refuses; 'interval' deletes expired sessions with a query every 10 minutes.
// - resave false, saveUninitialized false (the documented recommendation), rolling false, and
//   a 30-minute cookie maxAge, like groundup's idle expiry. connect-mongo then touches the
//   session's expiry on each request (its touchAfter is 0 by default).
// - cookie `Secure` is off only because the benchmark speaks plain http; express-session would
//   otherwise never send the cookie.
// - Passwords: Node's built-in scrypt (16 MiB, as Node sets it by default), not Argon2: the
//   benchmark logs in once, and Argon2 for Node needs a native addon.
// - GET /api/me reads the user without its hash (a projection), and answers in groundup's
//   shape with what express-session knows (no absolute expiry).

import crypto from 'node:crypto';
import { promisify } from 'node:util';

import MongoStore from 'connect-mongo';
import express from 'express';
import session from 'express-session';
import { MongoClient, ObjectId } from 'mongodb';

const scrypt = promisify(crypto.scrypt);
const addr = process.argv[2] ?? '127.0.0.1:8084';
const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))];
const uri = process.env.MONGODB_URI;
if (!uri) {
  console.error('express_peer: MONGODB_URI is not set');
  process.exit(2);
}
const dbName = process.env.GROUNDUP_DB ?? 'express_peer';

const client = new MongoClient(uri);
await client.connect();
const users = client.db(dbName).collection('users');
await users.createIndex({ username: 1 }, { unique: true });

async function hashPassword(password) {
  const salt = crypto.randomBytes(16);
  const hash = await scrypt(password, salt, 32);
  return `${salt.toString('hex')}$${hash.toString('hex')}`;
}

async function verifyPassword(password, stored) {
  const [salt, hash] = stored.split('$');
  const computed = await scrypt(password, Buffer.from(salt, 'hex'), 32);
  return crypto.timingSafeEqual(computed, Buffer.from(hash, 'hex'));
}

function userJson(user) {
  return {
    id: user._id.toHexString(),
    username: user.username,
    email: user.email ?? null,
    created_at: user.created_at.toISOString(),
  };
}

const app = express();
app.disable('x-powered-by');
app.use(express.json());
app.use(
  session({
    name: '__Host-session',
    secret: crypto.randomBytes(32).toString('hex'),
    resave: false,
    saveUninitialized: false,
    rolling: false,
    cookie: { httpOnly: true, sameSite: 'lax', secure: false, path: '/', maxAge: 30 * 60 * 1000 },
    store: MongoStore.create({ client, dbName, autoRemove: 'interval', autoRemoveInterval: 10 }),
  }),
);

app.get('/health', (req, res) => res.type('text/plain').send('ok\n'));

app.post('/api/register', async (req, res) => {
  const { username, password, email } = req.body ?? {};
  if (typeof username !== 'string' || typeof password !== 'string') {
    return res.status(400).json({ error: 'username and password are required' });
  }
  const user = {
    _id: new ObjectId(),
    username: username.toLowerCase(),
    ...(typeof email === 'string' ? { email } : {}),
    password_hash: await hashPassword(password),
    created_at: new Date(),
  };
  try {
    await users.insertOne(user);
  } catch (error) {
    if (error.code === 11000) return res.status(409).json({ error: 'taken' });
    throw error;
  }
  res.status(201).json(userJson(user));
});

app.post('/api/login', async (req, res, next) => {
  const { identifier, password } = req.body ?? {};
  const user = typeof identifier === 'string' ? await users.findOne({ username: identifier.toLowerCase() }) : null;
  if (!user || typeof password !== 'string' || !(await verifyPassword(password, user.password_hash))) {
    return res.status(401).json({ error: 'wrong username or password' });
  }
  // A new id at login, against fixation.
  req.session.regenerate((error) => {
    if (error) return next(error);
    req.session.userId = user._id.toHexString();
    req.session.csrfToken = crypto.randomBytes(32).toString('hex');
    req.session.createdAt = new Date().toISOString();
    res.json({ user: userJson(user), csrf_token: req.session.csrfToken });
  });
});

app.get('/api/me', async (req, res) => {
  if (!req.session.userId) return res.status(401).json({ error: 'not logged in' });
  const user = await users.findOne({ _id: new ObjectId(req.session.userId) }, { projection: { password_hash: 0 } });
  if (!user) return res.status(401).json({ error: 'not logged in' });
  res.set('Cache-Control', 'no-store').json({
    user: userJson(user),
    session: { created_at: req.session.createdAt, idle_expires_at: req.session.cookie.expires.toISOString() },
    csrf_token: req.session.csrfToken,
  });
});

app.listen(port, host, () => console.error(`express_peer listening on http://${addr}`));
