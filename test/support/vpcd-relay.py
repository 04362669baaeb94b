"""A TCP relay between vsmartcard-vpcd (inside pcscd) and a simulated card, for the integration tests.

vpcd sends each command as two send() calls (2-byte length, then the APDU) on a socket without
TCP_NODELAY: Nagle holds the APDU until the length is acknowledged, and the card side's kernel delays
that ACK (~40 ms on Linux). Every APDU exchange through pcscd then costs ~43 ms, whatever the card does.
Node cannot set TCP_QUICKACK; this relay can: it acknowledges vpcd's segments at once and forwards
every byte unchanged, so a test that makes hundreds of exchanges (test/integration/card-life.test.ts)
runs at the speed of pcscd and the card, not of the delayed-ACK timer. Bytes are not interpreted.

usage: python3 vpcd-relay.py VPCD_PORT  -> prints "listening PORT"; exits when stdin closes.
"""

import socket
import sys
import threading

QUICKACK = getattr(socket, "TCP_QUICKACK", None)


def pump(src, dst, quickack):
    try:
        while True:
            if quickack and QUICKACK is not None:
                src.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)
            data = src.recv(65536)
            if quickack and QUICKACK is not None:
                src.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        # One side gone (the card removed, or pcscd stopped): the other sees it gone too.
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


def serve(listener, vpcd_port):
    while True:
        try:
            card, _ = listener.accept()
        except OSError:
            return
        try:
            vpcd = socket.create_connection(("127.0.0.1", vpcd_port))
        except OSError:
            card.close()
            continue
        for s in (card, vpcd):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=pump, args=(vpcd, card, True), daemon=True).start()
        threading.Thread(target=pump, args=(card, vpcd, False), daemon=True).start()


def main():
    vpcd_port = int(sys.argv[1])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    threading.Thread(target=serve, args=(listener, vpcd_port), daemon=True).start()
    print("listening %d" % listener.getsockname()[1], flush=True)
    sys.stdin.read()  # until the test process goes away


if __name__ == "__main__":
    main()
