@0xd022234d97d5dfd9;
# The fedactor wire protocol: the single source of truth for every byte that
# crosses a process boundary. Rules: explicit ordinals, append only (never
# renumber or reuse), every enum switch in C++ has a default, and every field
# is validated by the codec (messages/codec.cpp) before an actor sees it.
# Units are given after each field.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("fl::wire");

const protocolVersion :UInt32 = 4;
# Bumped on incompatible changes; a join with another version is refused.
# 2: Join carries the model's layout hash and size; Welcome the mode as an
#    enum; Error names the node and round it is about.
# 3: compressed tensors (Tensor.packed), per-client configuration
#    (Activation/Model.config), SCAFFOLD corrections (Activation.control),
#    client metrics (Update.extra, Metrics.localSteps).

enum DType {
  float32 @0;  # IEEE 754 binary32, little endian: dense slices
  float16 @1;  # IEEE 754 binary16 in Packed.half (compressed deltas)
  bfloat16 @2; # upper half of a binary32 in Packed.half (compressed deltas)
}

enum Role {
  server @0;
  scheduler @1;  # a middle server; looks like one client to its upstream
  client @2;
  peer @3;       # decentralized mode: joins a neighbor to send it Gossip
}

enum Mode {
  sync @0;     # rounds: wait for Activation, send params
  async @1;    # FedAsync: Request, train, send params, repeat
  fedbuff @2;  # FedBuff: like async, but send deltas
}

enum TensorKind {
  params @0;  # full parameter values
  delta @1;   # difference to the base model (client - base)
}

struct Layer {
  name @0 :Text;          # e.g. "fc1.weight"
  shape @1 :List(Int64);  # dimensions, each > 0; empty = scalar
}

struct Slice {
  offset @0 :UInt64;        # first element (in elements) inside the flat model
  values @1 :List(Float32); # at most 2^29-1 elements (a Cap'n Proto list limit)
}

struct SparseSlice {
  # Kept entries of a top-k tensor whose indices are offset + indices[i].
  offset @0 :UInt64;          # multiple of 2^32; parts in increasing order
  indices @1 :List(UInt32);   # strictly increasing across all parts, < numel
  values @2 :List(Float32);   # as many as indices, finite
}

struct Qsgd {
  # QSGD (Alistarh et al. 2017): value i = norms[i / bucket] * level_i / levels
  levels @0 :UInt32;      # s: 1..127 with 8 bits, 1..7 with 4 bits
  bits @1 :UInt32;        # 8: one int8 per value; 4: two per byte, low first
  bucket @2 :UInt32;      # values per norm, >= 1
  norms @3 :List(Float32);  # ceil(numel / bucket) norms, finite, >= 0
  codes @4 :Data;         # signed levels, |level| <= levels
}

struct Packed {
  # A compressed delta. Decoding validates every count, index and level.
  union {
    half @0 :List(UInt16);           # dtype float16 or bfloat16: numel values
    topk @1 :List(SparseSlice);
    qsgd @2 :Qsgd;
  }
}

struct Tensor {
  # A whole model as one flat float buffer, split into slices only when it
  # exceeds one list (2 GiB). Slices are contiguous and in order.
  dtype @0 :DType;
  kind @1 :TensorKind;
  layers @2 :List(Layer);  # layout: layers are stored back to back
  layoutHash @3 :UInt64;   # FNV-1a of names and shapes (runtime/model_layout)
  numel @4 :UInt64;        # elements in total = sum of layer sizes
  slices @5 :List(Slice);  # dense float32 values; empty when packed is set
  packed @6 :Packed;       # a compressed delta (kind delta); absent = dense
  streamId @7 :UInt64;     # != 0: slices are empty and the values follow as
                           # the TensorData frames of this transfer (protocol 4)
  bulk @8 :Bool;           # with streamId: the values come on the bulk link
                           # (runtime/net/bulk_link) as its transfer streamId
}

struct ConfigEntry {
  # One typed entry of a configuration or metrics dictionary.
  key @0 :Text;            # 1..64 bytes of [a-z0-9_.-], unique in its list
  value :union {
    int @1 :Int64;
    real @2 :Float64;      # finite
    text @3 :Text;         # at most 1024 bytes
    flag @4 :Bool;
  }
}

struct Metrics {
  loss @0 :Float64;          # mean training loss of the last local epoch
  accuracy @1 :Float64;      # training accuracy of the last local epoch, [0, 1]
  trainSeconds @2 :Float64;  # wall time spent training, seconds
  localSteps @3 :UInt64;     # optimizer steps taken; 0 = not reported
}

struct Join {
  nodeId @0 :Text;              # unique within the federation, 1..128 bytes
  role @1 :Role;
  capabilities @2 :List(Text);  # e.g. "train", "evaluate", "cuda"
  authToken @3 :Text;           # shared secret; empty when none is set
  numSamples @4 :UInt64;        # local training samples (aggregation weight)
  protocolVersion @5 :UInt32;   # must equal the receiver's protocolVersion
  layoutHash @6 :UInt64;        # layout hash of the model the joiner trains;
                                # must equal the federation's
  numel @7 :UInt64;             # its element count; must equal the federation's
}

struct Welcome {
  nodeId @0 :Text;        # the joiner's id, echoed
  serverId @1 :Text;      # the id of the node that admitted it
  modelVersion @2 :UInt64;  # current global model version
  heartbeatMs @3 :UInt32;   # expected heartbeat interval, milliseconds
  mode @4 :Text;            # protocol 1 only; unused since protocol 2
  federationMode @5 :Mode;  # how the joiner takes part
}

struct Activation {
  round @0 :UInt64;         # sync round number, starting at 1
  modelVersion @1 :UInt64;  # version of the model carried
  model @2 :Tensor;         # kind params
  config @3 :List(ConfigEntry);  # the strategy's instructions (<= 64)
  control @4 :Tensor;       # SCAFFOLD correction c - c_i (kind delta, the
                            # model's layout); absent = none
}

struct Request {
  nodeId @0 :Text;        # the requesting client (async: "send me the model")
}

struct Model {
  modelVersion @0 :UInt64;
  model @1 :Tensor;       # kind params
  config @2 :List(ConfigEntry);  # the strategy's instructions (<= 64)
}

struct Update {
  nodeId @0 :Text;
  round @1 :UInt64;        # sync: the activation's round; async: 0
  baseVersion @2 :UInt64;  # version of the model the client trained from
  numSamples @3 :UInt64;   # samples trained on (aggregation weight), > 0
  model @4 :Tensor;        # params or delta (a compressed one: delta)
  metrics @5 :Metrics;
  extra @6 :List(ConfigEntry);  # the client's own metrics (<= 64)
}

struct Evaluate {
  round @0 :UInt64;
  modelVersion @1 :UInt64;
  model @2 :Tensor;
}

struct EvalResult {
  nodeId @0 :Text;
  round @1 :UInt64;
  numSamples @2 :UInt64;   # samples evaluated, > 0
  loss @3 :Float64;        # mean loss
  accuracy @4 :Float64;    # [0, 1]
}

struct Heartbeat {
  nodeId @0 :Text;
  sentAtMs @1 :UInt64;     # sender's wall clock, ms since the Unix epoch
}

struct Exit {
  reason @0 :Text;         # human-readable, e.g. "training finished"
}

struct Error {
  code @0 :UInt16;         # an fl::errc value
  message @1 :Text;        # human-readable context
  nodeId @2 :Text;         # from a client: the node that failed (checked
                           # against the connection like every claimed id);
                           # empty when it is about no node
  round @3 :UInt64;        # the sync round it is about; 0 = none
}

enum GossipKind {
  share @0;  # mixed into the receiver's model (sync: a round's model;
             # async: a push-sum share of numerator and weight)
  state @1;  # the sender's current model for a rejoining peer (not mixed)
}

struct Gossip {
  # Decentralized mode: one peer's model for one neighbor.
  nodeId @0 :Text;     # the sending peer, as it joined
  step @1 :UInt64;     # sync: the round (>= 1); async: the sender's iteration
  weight @2 :Float64;  # push-sum weight carried with the values, finite,
                       # in (0, 2^20]; 1 in sync mode
  model @3 :Tensor;    # kind params, dense
  kind @4 :GossipKind;
}

struct Chunk {
  # One piece of an encoded Envelope that is too large to travel at once.
  transferId @0 :UInt64;  # unique per sender and transfer
  index @1 :UInt32;       # 0-based; chunks arrive in order
  count @2 :UInt32;       # number of chunks in the transfer, >= 2
  totalBytes @3 :UInt64;  # size of the reassembled Envelope, bytes
  checksum @4 :UInt64;    # bulk_checksum (runtime/hashing) of `data`
  data @5 :Data;          # the bytes [index * chunkSize, ...) of the Envelope
}

struct TensorData {
  # One piece of a streamed tensor's values. The frames of a transfer follow
  # its head (the Envelope whose tensor has streamId = transferId) in order;
  # other whole Envelopes may come between them. The receiver writes (or
  # folds) each piece as it arrives and answers each with a Credit: a sender
  # has at most its window of pieces unanswered.
  transferId @0 :UInt64;   # the head's tensor.streamId
  index @1 :UInt32;        # 0-based, in order
  count @2 :UInt32;        # pieces in the transfer, >= 1
  offset @3 :UInt64;       # first element: the previous piece's end
  checksum @4 :UInt64;     # bulk_checksum (runtime/hashing) of the raw values
  values @5 :List(Float32);  # 1 .. 2^29-16 finite values
}

struct Credit {
  # The receiver took `pieces` more TensorData frames of a transfer.
  transferId @0 :UInt64;
  pieces @1 :UInt32;       # >= 1
}

struct BulkOffer {
  # The receiver of this frame may open a bulk link (a direct TCP stream for
  # model values) to the sender's host at `port`, presenting `ticket` first.
  port @0 :UInt16;         # > 0
  ticket @1 :Data;         # 32 random bytes, good for one connection
}

struct Envelope {
  target @0 :Text;   # node id the body is for; empty = the receiving node
  body :union {
    join @1 :Join;
    welcome @2 :Welcome;
    activation @3 :Activation;
    request @4 :Request;
    model @5 :Model;
    update @6 :Update;
    evaluate @7 :Evaluate;
    evalResult @8 :EvalResult;
    heartbeat @9 :Heartbeat;
    exit @10 :Exit;
    error @11 :Error;
    chunk @12 :Chunk;
    gossip @14 :Gossip;
    tensorData @15 :TensorData;
    credit @16 :Credit;
    bulkOffer @17 :BulkOffer;
  }
  moreTargets @13 :List(Text);
  # Multicast: the body is also for each of these nodes. A server sends one
  # Activation per remote process, not one per client, so the model is
  # encoded and sent once per process (at most 65536 entries).
}
