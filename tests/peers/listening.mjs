// Preloaded (`node --import ./listening.mjs ...`) into a Node server that cannot report a port the kernel
// chose: server-everything reads `PORT` and prints `PORT` back, so with `PORT=0` it would say "port 0".
// This prints exactly one line `LISTENING <port>` on stdout once its HTTP server accepts connections, as
// every other peer here does, so tests never guess a free port.
import http from "node:http";

const listen = http.Server.prototype.listen;
http.Server.prototype.listen = function (...args) {
  this.once("listening", () => {
    process.stdout.write(`LISTENING ${this.address().port}\n`);
  });
  return listen.apply(this, args);
};
