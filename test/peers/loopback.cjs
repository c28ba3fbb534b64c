// Preloaded into server-everything (node --require), which has no host
// option and would listen on every interface: pin it to 127.0.0.1.
const net = require("net");
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === "number" || typeof args[0] === "string") {
    const cb = typeof args[args.length - 1] === "function" ? args[args.length - 1] : undefined;
    return cb ? listen.call(this, Number(args[0]), "127.0.0.1", cb) : listen.call(this, Number(args[0]), "127.0.0.1");
  }
  return listen.apply(this, args);
};
