#!/usr/bin/env python3
"""A TCP proxy that adds network latency, for benchmarks against the test control plane.

Every byte is delayed by RTT/2 in each direction (so a request and its answer cost one
RTT), and a new connection pays one more RTT before its first byte arrives, as a TCP
handshake would. Bandwidth is not limited and nothing is decrypted: TLS passes through
untouched, so a kubeconfig copy whose `server` points here (`https://127.0.0.1:PORT`,
which the test serving certificate covers) talks to the real API server.

usage: latency_proxy.py --upstream HOST:PORT --rtt-ms 50 --port-file FILE
It writes its port to FILE once listening, and serves until killed.
"""

import argparse
import asyncio


async def pump(reader, writer, delay, not_before):
    """Copies reader to writer, each chunk delivered `delay` seconds after it was read
    (and never before `not_before`), in order."""
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def deliver():
        while True:
            at, data = await queue.get()
            wait = at - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if data is None:
                break
            writer.write(data)
            await writer.drain()
        try:
            writer.write_eof()
        except OSError:
            pass

    sender = asyncio.create_task(deliver())
    try:
        while True:
            data = await reader.read(1 << 16)
            now = loop.time()
            queue.put_nowait((max(now, not_before) + delay, data or None))
            if not data:
                break
    except OSError:
        queue.put_nowait((loop.time(), None))
    try:
        await sender
    except OSError:
        pass


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True, help="HOST:PORT")
    parser.add_argument("--rtt-ms", type=float, required=True)
    parser.add_argument("--port-file", required=True)
    args = parser.parse_args()
    host, port = args.upstream.rsplit(":", 1)
    half = args.rtt_ms / 2000.0

    async def handle(client_reader, client_writer):
        loop = asyncio.get_running_loop()
        # The handshake's round trip: the client's first byte leaves one RTT after connecting.
        handshake_done = loop.time() + 2 * half
        try:
            server_reader, server_writer = await asyncio.open_connection(host, int(port))
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            pump(client_reader, server_writer, half, handshake_done),
            pump(server_reader, client_writer, half, 0.0),
            return_exceptions=True,
        )
        for writer in (client_writer, server_writer):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    with open(args.port_file, "w") as f:
        f.write(str(server.sockets[0].getsockname()[1]))
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
