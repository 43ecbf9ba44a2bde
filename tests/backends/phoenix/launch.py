"""`phoenix serve`, with the OTLP/gRPC listener bound to PHOENIX_HOST.

Phoenix honours PHOENIX_HOST for its HTTP listener but always binds gRPC to `[::]`, every
interface. The test backend must stay on the loopback address, so this wrapper rewrites the
wildcard address before the server starts. Everything else is stock `phoenix serve`.
"""

import os
import sys


def _bind_to_host(address: str) -> str:
    host = os.environ.get("PHOENIX_HOST") or "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    if address.startswith("[::]:"):
        return f"{host}:{address.rsplit(':', 1)[1]}"
    return address


def _patch_grpc() -> None:
    from grpc.aio import _server

    add_insecure = _server.Server.add_insecure_port
    add_secure = _server.Server.add_secure_port
    _server.Server.add_insecure_port = lambda self, address: add_insecure(self, _bind_to_host(address))
    _server.Server.add_secure_port = lambda self, address, creds: add_secure(self, _bind_to_host(address), creds)


if __name__ == "__main__":
    _patch_grpc()
    from phoenix.server.main import main

    sys.argv = ["phoenix", "serve", *sys.argv[1:]]
    main()
