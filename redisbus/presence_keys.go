package redisbus

import "github.com/redis/go-redis/v9"

// What the presence keeps in Redis, under P = PresenceOptions.Prefix +
// "presence:" and with user and node ids escaped as in channel names
// (channel.go: ':' is "%3A", '%' is "%25"):
//
//	P+"nodes"      sorted set: node id → Unix ms of its last heartbeat
//	               (0: the node left, see Leave).
//	P+"u:"+user    hash: node id → "streams sinceUnixMs", one field per
//	               node holding streams of the user.
//	P+"n:"+node    set: the escaped ids of the users the node holds, so
//	               that its fields can be found when it dies.
//	P+"seen:"+user string: Unix ms of the end of the user's last stream,
//	               expiring after PresenceOptions.Remember.
//	P+"said:"+user string "1" while the user was last announced online
//	               (absent: offline), expiring after Remember.
//
// A node is live while its heartbeat is at most belfry.PresenceTimeout
// old (by the clock of the node that asks). Lookup counts live nodes'
// fields only; a dead node's fields read as streams that ended at its last
// heartbeat. Each node sweeps, every beat, the nodes that died: the one
// whose script removes the dead node from P+"nodes" deletes its fields and
// set, raises the users' last-seen time to the dead node's last heartbeat,
// and sends the users on its Changes.
//
// Writes that must agree are Lua scripts, atomic in Redis: a node writes
// its users only while its heartbeat is in P+"nodes" (so a node swept while
// alive, after a pause longer than the timeout, finds out, registers again
// and rewrites all its users, and a write racing the sweep cannot leave a
// field that no set lists); the sweep claims a node only if its heartbeat
// is still old. The sweep's script names keys it reads from the dead
// node's set, which a single Redis (what redisbus connects to) allows and
// Redis Cluster would not.
//
// Costs (one node, steady state): every Beat (5 s) one ZADD, one
// ZRANGE BYSCORE and, if counts changed, one script call: under one
// command a second. First and last streams are written at most 100 times
// a second (minFlushGap), all that waited in one script call per 512
// users; inside, a user costs 3 or 4 operations (plus an HGETALL and a
// ZSCORE per other node's field on a first stream). A Lookup is one round
// trip of 1 + 2×users commands (100 users: 0.85 ms on a local Redis,
// BenchmarkPresenceLookup100); Track is 67 ns (BenchmarkPresenceTrack). Memory: per user online, a hash field (~60 bytes
// with the node id) and a set member (~50 bytes); per user seen in the
// last Remember (30 days), a string key (~90 bytes); per user announced
// online, another (~80 bytes): a million users seen in a month take about
// 90 MB.

// presenceKeys names the keys under one prefix.
type presenceKeys struct{ p string }

func (k presenceKeys) nodes() string         { return k.p + "nodes" }
func (k presenceKeys) node(id string) string { return k.p + "n:" + escapeID(id) }
func (k presenceKeys) user(id string) string { return k.p + "u:" + escapeID(id) }
func (k presenceKeys) seen(id string) string { return k.p + "seen:" + escapeID(id) }
func (k presenceKeys) said(id string) string { return k.p + "said:" + escapeID(id) }
func escapeID(id string) string              { return channelName("", id) }
func unescapeID(s string) (string, bool)     { return userOf("", s) }

// flushScript writes a node's users, if the node's heartbeat is in the
// nodes set; it returns 0 when it is not (the node was swept, or Redis lost
// its data), 1 when it wrote.
//
// A field's since is the earliest of the node's own first stream, the
// since already in its field, and, when the field is new (a first stream
// on this node), the since of the live nodes' fields: a user whose streams
// move from node to node without a gap keeps the Since of the first.
//
// KEYS: nodes, the node's set, then per user its hash and its seen key.
// ARGV: node id, Remember in ms, the liveness cutoff in Unix ms, then per
// user its escaped id, its count and, for a count > 0, its since, for 0
// the end of its last stream (0: unknown). The seen time only ever moves
// forward.
var flushScript = redis.NewScript(`
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local cutoff = tonumber(ARGV[3])
local function earlier(best, bestStr, v)
  local s = string.match(v, ' (%d+)$')
  if s and tonumber(s) < best then return tonumber(s), s end
  return best, bestStr
end
local j = 4
for i = 3, #KEYS, 2 do
  local m, n, t = ARGV[j], ARGV[j+1], ARGV[j+2]
  j = j + 3
  if n ~= '0' then
    local since, sinceStr = tonumber(t), t
    local cur = redis.call('HGET', KEYS[i], ARGV[1])
    if cur then
      since, sinceStr = earlier(since, sinceStr, cur)
    else
      local all = redis.call('HGETALL', KEYS[i])
      for k = 1, #all, 2 do
        local b = redis.call('ZSCORE', KEYS[1], all[k])
        if b and tonumber(b) >= cutoff then
          since, sinceStr = earlier(since, sinceStr, all[k+1])
        end
      end
    end
    redis.call('SADD', KEYS[2], m)
    redis.call('HSET', KEYS[i], ARGV[1], n .. ' ' .. sinceStr)
  else
    redis.call('HDEL', KEYS[i], ARGV[1])
    if tonumber(t) > tonumber(redis.call('GET', KEYS[i+1]) or '0') then
      redis.call('SET', KEYS[i+1], t, 'PX', ARGV[2])
    end
    redis.call('SREM', KEYS[2], m)
  end
end
return 1
`)

// sweepScript removes a node whose heartbeat is older than a cutoff (or
// absent) and everything it wrote. It returns nil when the node is live,
// else the escaped ids of its users. Their seen time moves forward to the
// node's last heartbeat (unless it left, score 0: Leave wrote them).
//
// KEYS: nodes, the node's set. ARGV: node id, cutoff in Unix ms, the key
// prefix P, Remember in ms.
var sweepScript = redis.NewScript(`
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if s and tonumber(s) >= tonumber(ARGV[2]) then return false end
if s then redis.call('ZREM', KEYS[1], ARGV[1]) end
local beat = tonumber(s or '0')
local users = redis.call('SMEMBERS', KEYS[2])
for _, m in ipairs(users) do
  redis.call('HDEL', ARGV[3] .. 'u:' .. m, ARGV[1])
  if beat > 0 then
    local k = ARGV[3] .. 'seen:' .. m
    if beat > tonumber(redis.call('GET', k) or '0') then
      redis.call('SET', k, s, 'PX', ARGV[4])
    end
  end
end
redis.call('DEL', KEYS[2])
return users
`)

// leaveScript marks a node that leaves: its users' seen time moves forward
// to now, and its heartbeat becomes 0, so that the next sweep of any node
// removes it (and sends its users on that node's Changes).
//
// KEYS: nodes, the node's set. ARGV: node id, now in Unix ms, the key
// prefix P, Remember in ms.
var leaveScript = redis.NewScript(`
for _, m in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local k = ARGV[3] .. 'seen:' .. m
  if tonumber(ARGV[2]) > tonumber(redis.call('GET', k) or '0') then
    redis.call('SET', k, ARGV[2], 'PX', ARGV[4])
  end
end
redis.call('ZADD', KEYS[1], 'XX', 0, ARGV[1])
return 1
`)
