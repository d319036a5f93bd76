-- HLS viewers for wrk: each connection plays a live media playlist the way a
-- player does, alternating between reading the playlist and fetching the
-- newest segment it lists, and every response is checked.
--
--   wrk -t2 -c500 -d10s --latency -s viewer.lua http://HOST:PORT -- /hls/ID/0/index.m3u8
--
-- A playlist must be a whole RFC 8216 media playlist: #EXTM3U first,
-- EXT-X-TARGETDURATION and EXT-X-MEDIA-SEQUENCE, at least one segment, one
-- URI line after each EXTINF, every EXTINF rounding to at most the target
-- duration (§4.3.3.1), and a final newline (a playlist cut short by a
-- non-atomic write fails here). A segment must be whole 188-byte transport
-- packets starting with the sync byte. Anything else counts as malformed.
--
-- done() prints one line: RESULT {json} with the counts and wrk's figures.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  playlist_path = args[1]
  base = playlist_path:match("^(.*/)")
  newest = nil          -- newest segment of the last good playlist, relative to base
  turn = 0
  playlists, segments, malformed, bad_status = 0, 0, 0, 0
  first_bad = ""
end

function request()
  turn = turn + 1
  if newest ~= nil and turn % 2 == 0 then
    return wrk.format("GET", base .. newest)
  end
  return wrk.format("GET", playlist_path)
end

-- The newest segment's URI, or nil and why the playlist is not well formed.
local function check_playlist(body)
  if body:sub(-1) ~= "\n" then return nil, "no final newline" end
  local target = tonumber(body:match("\n#EXT%-X%-TARGETDURATION:(%d+)\n"))
  if target == nil then return nil, "no EXT-X-TARGETDURATION" end
  if not body:match("\n#EXT%-X%-MEDIA%-SEQUENCE:%d+\n") then return nil, "no EXT-X-MEDIA-SEQUENCE" end
  local uri_due, last, count = false, nil, 0
  for line in body:gmatch("([^\n]*)\n") do
    local extinf = line:match("^#EXTINF:([%d.]+),")
    if extinf then
      if uri_due then return nil, "EXTINF without a URI" end
      if math.floor(tonumber(extinf) + 0.5) > target then return nil, "EXTINF " .. extinf .. " over the target" end
      uri_due = true
    elseif line:sub(1, 1) ~= "#" and #line > 0 then
      if not uri_due then return nil, "URI without EXTINF: " .. line end
      uri_due, last, count = false, line, count + 1
    end
  end
  if uri_due then return nil, "EXTINF at the end without a URI" end
  if count == 0 then return nil, "no segments" end
  return last
end

local function bad(why)
  malformed = malformed + 1
  if first_bad == "" then first_bad = why end
end

function response(status, headers, body)
  if status ~= 200 then
    bad_status = bad_status + 1
    if first_bad == "" then first_bad = "HTTP " .. status end
    return
  end
  if body:sub(1, 8) == "#EXTM3U\n" then
    local uri, why = check_playlist(body)
    if uri then
      playlists = playlists + 1
      newest = uri
    else
      bad("playlist: " .. why)
    end
  elseif #body > 0 and #body % 188 == 0 and body:byte(1) == 0x47 then
    segments = segments + 1
  else
    bad("neither a playlist nor a transport stream (" .. #body .. " bytes)")
  end
end

function done(summary, latency, requests)
  local p, s, m, b, why = 0, 0, 0, 0, ""
  for _, t in ipairs(threads) do
    p = p + t:get("playlists")
    s = s + t:get("segments")
    m = m + t:get("malformed")
    b = b + t:get("bad_status")
    if why == "" then why = t:get("first_bad") end
  end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "bytes": %d, "connect_errors": %d, "read_errors": %d, ' ..
    '"write_errors": %d, "status_errors": %d, "timeouts": %d, "playlists": %d, "segments": %d, ' ..
    '"malformed": %d, "bad_status": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "first_bad": "%s"}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    p, s, m, b, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    (why:gsub('[%c"\\]', "?"))))
end
