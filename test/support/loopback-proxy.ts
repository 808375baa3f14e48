// A small HTTP proxy on 127.0.0.1 for transport tests: forwards absolute-URI requests
// (`POST http://host:port/path`) and tunnels CONNECT, recording both, so a test can tell whether
// a request went through the proxy or straight to the server. CONNECT targets listed in `refuse`
// are answered 403 without any connection (an https:// endpoint that need not exist).
import { createServer, request } from "node:http";
import { type AddressInfo, connect, type Socket } from "node:net";

export interface LoopbackProxy {
  readonly url: string;
  /** Absolute URLs of forwarded requests, in order. */
  readonly forwarded: string[];
  /** host:port targets of CONNECT requests, in order. */
  readonly connects: string[];
  close(): Promise<void>;
}

export async function startLoopbackProxy(
  options: { refuse?: readonly string[] } = {},
): Promise<LoopbackProxy> {
  const forwarded: string[] = [];
  const connects: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const target = new URL(req.url ?? "");
    forwarded.push(target.href);
    const headers = { ...req.headers };
    delete headers["proxy-connection"];
    delete headers["proxy-authorization"];
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        method: req.method,
        headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("connect", (req, client: Socket, head: Buffer) => {
    const target = req.url ?? "";
    connects.push(target);
    client.on("error", () => {});
    if (options.refuse?.includes(target)) {
      client.end("HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n");
      return;
    }
    const colon = target.lastIndexOf(":");
    const upstream = connect(Number(target.slice(colon + 1)), target.slice(0, colon), () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    forwarded,
    connects,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
