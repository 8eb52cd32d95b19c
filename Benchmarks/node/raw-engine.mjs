// @ts-check
/**
 * The benchmark's floor in Node: the Docker Engine API through `node:http` on the unix socket,
 * with a keep-alive `Agent`, no library. `POST /exec/{id}/start` is sent without `Upgrade` (as the
 * worker does): the engine answers with the multiplexed stream and closes the connection at its
 * end; the 8-byte frame headers (stream byte, three zero bytes, big-endian payload length) are
 * demultiplexed here.
 */
import http from 'node:http';
import { StringDecoder } from 'node:string_decoder';

/** An engine answer with an HTTP status ≥ 400. */
export class EngineHTTPError extends Error {
  /** @param {number} status @param {string} body */
  constructor(status, body) {
    super(`HTTP ${status}: ${body.slice(0, 200)}`);
    this.status = status;
  }
}

export class RawEngine {
  /**
   * @param {string} socketPath the engine's unix socket
   * @param {number} [maxSockets] keep-alive connections the agent may hold open at once
   */
  constructor(socketPath, maxSockets = 256) {
    this.socketPath = socketPath;
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
    this.prefix = '';
  }

  /** Reads the engine's API version from `/_ping` (`Api-Version` header) and versions every later path with it. */
  async connect() {
    const { headers } = await this.request('GET', '/_ping', undefined, false);
    this.prefix = `/v${headers['api-version'] ?? '1.41'}`;
    return this;
  }

  /**
   * Starts one request; resolves to the response once its head has arrived.
   * @param {string} method @param {string} path @param {any} [body] JSON-encoded unless a Buffer
   * @param {boolean} [versioned] put the API version in front of the path
   * @returns {Promise<http.IncomingMessage>}
   */
  open(method, path, body, versioned = true) {
    const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    /** @type {Record<string, string | number>} */
    const headers = { Host: 'docker' };
    if (payload) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = payload.length;
    } else if (method === 'POST' || method === 'PUT') {
      headers['Content-Length'] = 0;
    }
    return new Promise((resolve, reject) => {
      const req = http.request(
        { socketPath: this.socketPath, agent: this.agent, method, path: (versioned ? this.prefix : '') + path, headers },
        resolve,
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /**
   * One request, the whole response read: `{status, headers, body}`.
   * @param {string} method @param {string} path @param {any} [body] @param {boolean} [versioned]
   */
  async request(method, path, body, versioned = true) {
    const res = await this.open(method, path, body, versioned);
    const chunks = [];
    for await (const chunk of res) chunks.push(chunk);
    return { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) };
  }

  /**
   * One request whose JSON answer is parsed (null for an empty body).
   * @param {string} method @param {string} path @param {any} [body]
   * @throws {EngineHTTPError} for a status ≥ 400
   */
  async json(method, path, body) {
    const { status, body: payload } = await this.request(method, path, body);
    if (status >= 400) throw new EngineHTTPError(status, payload.toString());
    return payload.length ? JSON.parse(payload.toString('utf8')) : null;
  }

  async ping() {
    const { status, body } = await this.request('GET', '/_ping', undefined, false);
    if (status !== 200) throw new EngineHTTPError(status, body.toString());
    return body;
  }

  /** @param {string} id */
  inspect(id) {
    return this.json('GET', `/containers/${id}/json`);
  }

  /**
   * Creates an exec, starts it, demultiplexes its output to the end, then reads its exit code.
   * With `text`, each stream goes through its own incremental UTF-8 decoder and the bytes counted
   * are those of the decoded text (as the worker's `encoding: "utf8"` delivers it).
   * @param {string} id container
   * @param {string[]} cmd
   * @param {{text?: boolean}} [options]
   * @returns {Promise<{exitCode: number, stdout: number, stderr: number}>}
   */
  async exec(id, cmd, options = {}) {
    const created = await this.json('POST', `/containers/${id}/exec`, {
      Cmd: cmd, AttachStdout: true, AttachStderr: true, AttachStdin: false, Tty: false,
    });
    const res = await this.open('POST', `/exec/${created.Id}/start`, { Detach: false, Tty: false });
    if ((res.statusCode ?? 0) >= 400) {
      const chunks = [];
      for await (const chunk of res) chunks.push(chunk);
      throw new EngineHTTPError(res.statusCode ?? 0, Buffer.concat(chunks).toString());
    }
    const counts = [0, 0, 0];
    const decoders = options.text ? [null, new StringDecoder('utf8'), new StringDecoder('utf8')] : null;
    const header = Buffer.alloc(8);
    let have = 0; // bytes of the current frame header read
    let remaining = 0; // payload bytes of the current frame still to come
    let stream = 1;
    for await (const chunk of res) {
      const data = /** @type {Buffer} */ (chunk);
      let pos = 0;
      while (pos < data.length) {
        if (remaining === 0) {
          const take = Math.min(8 - have, data.length - pos);
          data.copy(header, have, pos, pos + take);
          have += take;
          pos += take;
          if (have === 8) {
            stream = header[0];
            remaining = header.readUInt32BE(4);
            have = 0;
          }
          continue;
        }
        const take = Math.min(remaining, data.length - pos);
        const piece = data.subarray(pos, pos + take);
        counts[stream] += decoders ? Buffer.byteLength(/** @type {StringDecoder} */ (decoders[stream]).write(piece)) : take;
        pos += take;
        remaining -= take;
      }
    }
    if (decoders) for (const s of [1, 2]) counts[s] += Buffer.byteLength(/** @type {StringDecoder} */ (decoders[s]).end());
    for (;;) {
      const info = await this.json('GET', `/exec/${created.Id}/json`);
      if (!info.Running) return { exitCode: info.ExitCode, stdout: counts[1], stderr: counts[2] };
    }
  }

  /**
   * @param {any} body the create body
   * @param {string} [name]
   * @returns {Promise<string>} the container's id
   */
  async create(body, name) {
    return (await this.json('POST', `/containers/create${name ? `?name=${name}` : ''}`, body)).Id;
  }

  /** @param {string} id */
  async start(id) {
    await this.json('POST', `/containers/${id}/start`);
  }

  /** Removes a container, its anonymous volumes too; a 404 is not an error. @param {string} id */
  async remove(id) {
    const { status, body } = await this.request('DELETE', `/containers/${id}?force=true&v=true`);
    if (status >= 400 && status !== 404) throw new EngineHTTPError(status, body.toString());
  }

  /**
   * Containers carrying a label (`key` or `key=value`), stopped ones included.
   * @param {string} label
   * @returns {Promise<Array<{Id: string, Labels: Record<string, string>}>>}
   */
  list(label) {
    return this.json('GET', `/containers/json?all=true&filters=${encodeURIComponent(JSON.stringify({ label: [label] }))}`);
  }

  close() {
    this.agent.destroy();
  }
}
