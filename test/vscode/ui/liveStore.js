'use strict';
// The live document as another writer sees it: the scenarios seed and read Redis through the
// compiled live layer (npm run compile-tests), never through the workbench they are testing.

const path = require('path');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const { ConfigStore } = require(path.join(ROOT, 'out/src/live/configStore'));
const { connectRedis } = require(path.join(ROOT, 'out/src/live/redisConnection'));

/** Runs `work(store, redis)` on a connection of its own, closed afterwards. */
async function withStore(servers, work) {
  const redis = await connectRedis({ url: servers.redisUrl });
  try {
    return await work(new ConfigStore(redis), redis);
  } finally {
    redis.disconnect();
  }
}

module.exports = { withStore };
