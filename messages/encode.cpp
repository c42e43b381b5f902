// Encoding: C++ values -> Envelope frames. Only this file and decode.cpp
// touch capnp builders/readers.

#include <algorithm>
#include <cassert>
#include <cstring>

#include <capnp/any.h>
#include <kj/exception.h>

#include "messages/codec.hpp"
#include "messages/fl.capnp.h"
#include "messages/frame_builder.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/core/hashing.hpp"

namespace fl {

namespace {

/// Elements per Slice: below capnp's 2^29-1 list limit, and a multiple of 16
/// so every slice after the first starts 64-byte aligned in the frame.
constexpr uint64_t max_slice_elements = (uint64_t{1} << 29) - 16;

kj::StringPtr text(const std::string& x) {
  return kj::StringPtr{x.c_str(), x.size()};
}

size_t config_estimate(const config_map& m) {
  size_t n = 64;
  for (const auto& [k, v] : m) {
    n += 48 + k.size();
    if (auto* x = std::get_if<std::string>(&v))
      n += x->size() + 8;
  }
  return n;
}

size_t tensor_estimate(const tensor& t) {
  size_t n = 256 + t.values.size_bytes();
  if (t.packed)
    n += payload_bytes(*t.packed) + 64 * (t.packed->sparse.size() + 1);
  n += (t.values.size() / max_slice_elements + 1) * 32;
  for (const auto& l : t.layout.layers())
    n += 64 + l.name.size() + l.shape.size() * 8;
  return n;
}

size_t estimate(const envelope& env) {
  size_t n = 512 + env.target.size();
  for (const auto& t : env.more_targets)
    n += t.size() + 16;
  if (const auto* model = model_of(env.body))
    n += tensor_estimate(*model);
  std::visit(
    [&n](const auto& m) {
      using T = std::decay_t<decltype(m)>;
      if constexpr (std::is_same<T, activation_msg>::value)
        n += tensor_estimate(m.control) + config_estimate(m.config);
      if constexpr (std::is_same<T, model_msg>::value)
        n += config_estimate(m.config);
      if constexpr (std::is_same<T, update_msg>::value)
        n += config_estimate(m.extra);
      if constexpr (std::is_same<T, join_msg>::value) {
        n += m.node_id.size() + m.auth_token.size();
        for (const auto& c : m.capabilities)
          n += c.size() + 16;
      }
      if constexpr (std::is_same<T, error_msg>::value)
        n += m.message.size() + m.node_id.size();
      if constexpr (std::is_same<T, error_msg>::value
                    || std::is_same<T, exit_msg>::value)
        n += 1024;
      n += 256;
    },
    env.body);
  return n;
}

wire::Mode to_wire(federation_mode x) {
  switch (x) {
    case federation_mode::async: return wire::Mode::ASYNC;
    case federation_mode::fedbuff: return wire::Mode::FEDBUFF;
    default: return wire::Mode::SYNC;
  }
}

wire::Role to_wire(node_role x) {
  switch (x) {
    case node_role::server: return wire::Role::SERVER;
    case node_role::scheduler: return wire::Role::SCHEDULER;
    case node_role::client: return wire::Role::CLIENT;
    case node_role::peer: return wire::Role::PEER;
  }
  return wire::Role::CLIENT;
}

/// Copies a span into a capnp list of the same element type (one memcpy).
template <class List, class T>
void fill_raw(List list, span<const T> xs) {
  if (xs.empty())
    return;
  auto raw = capnp::toAny(list.asReader()).getRawBytes();
  std::memcpy(const_cast<kj::byte*>(raw.begin()), xs.data(), xs.size_bytes());
}

wire::DType put_packed(wire::Packed::Builder out, const encoded_tensor& t) {
  switch (t.encoding) {
    case tensor_encoding::float16:
    case tensor_encoding::bfloat16:
      fill_raw(out.initHalf(static_cast<capnp::uint>(t.half.size())), t.half);
      return t.encoding == tensor_encoding::float16 ? wire::DType::FLOAT16
                                                    : wire::DType::BFLOAT16;
    case tensor_encoding::topk: {
      auto parts = out.initTopk(static_cast<capnp::uint>(t.sparse.size()));
      for (size_t i = 0; i < t.sparse.size(); ++i) {
        auto p = parts[static_cast<capnp::uint>(i)];
        const auto& s = t.sparse[i];
        p.setOffset(s.offset);
        fill_raw(p.initIndices(static_cast<capnp::uint>(s.indices.size())),
                 s.indices);
        fill_raw(p.initValues(static_cast<capnp::uint>(s.values.size())),
                 s.values);
      }
      return wire::DType::FLOAT32;
    }
    case tensor_encoding::qsgd: {
      auto q = out.initQsgd();
      q.setLevels(t.qsgd.levels);
      q.setBits(t.qsgd.bits);
      q.setBucket(t.qsgd.bucket);
      fill_raw(q.initNorms(static_cast<capnp::uint>(t.qsgd.norms.size())),
               t.qsgd.norms);
      auto codes = q.initCodes(static_cast<capnp::uint>(t.qsgd.codes.size()));
      if (!t.qsgd.codes.empty())
        std::memcpy(codes.begin(), t.qsgd.codes.data(), t.qsgd.codes.size());
      return wire::DType::FLOAT32;
    }
  }
  return wire::DType::FLOAT32;
}

void put_config(capnp::List<wire::ConfigEntry>::Builder out,
                const config_map& m) {
  capnp::uint i = 0;
  for (const auto& [k, v] : m) {
    auto e = out[i++];
    e.setKey(text(k));
    auto val = e.initValue();
    if (auto* n = std::get_if<int64_t>(&v))
      val.setInt(*n);
    else if (auto* d = std::get_if<double>(&v))
      val.setReal(*d);
    else if (auto* b = std::get_if<bool>(&v))
      val.setFlag(*b);
    else
      val.setText(text(std::get<std::string>(v)));
  }
}

/// Writes `t`; with `stream_id` != 0 only its description (the head of a
/// streamed transfer: the values follow as TensorData pieces).
void put(wire::Tensor::Builder out, const tensor& t, uint64_t stream_id = 0,
         bool bulk = false) {
  assert(t.packed || stream_id != 0 || t.values.size() == t.layout.numel());
  out.setDtype(wire::DType::FLOAT32);
  out.setKind(t.kind == tensor_kind::delta ? wire::TensorKind::DELTA
                                           : wire::TensorKind::PARAMS);
  const auto& layers = t.layout.layers();
  auto wl = out.initLayers(static_cast<capnp::uint>(layers.size()));
  for (size_t i = 0; i < layers.size(); ++i) {
    auto l = wl[static_cast<capnp::uint>(i)];
    l.setName(text(layers[i].name));
    auto shape = l.initShape(static_cast<capnp::uint>(layers[i].shape.size()));
    for (size_t k = 0; k < layers[i].shape.size(); ++k)
      shape.set(static_cast<capnp::uint>(k), layers[i].shape[k]);
  }
  out.setLayoutHash(t.layout.hash());
  out.setNumel(t.layout.numel());
  if (stream_id != 0) {
    out.initSlices(0);
    out.setStreamId(stream_id);
    out.setBulk(bulk);
    return;
  }
  if (t.packed) {
    out.initSlices(0);
    out.setDtype(put_packed(out.initPacked(), *t.packed));
    return;
  }
  const uint64_t n = t.values.size();
  const uint64_t num_slices = std::max<uint64_t>(
    1, (n + max_slice_elements - 1) / max_slice_elements);
  auto slices = out.initSlices(static_cast<capnp::uint>(num_slices));
  for (uint64_t s = 0; s < num_slices; ++s) {
    const uint64_t first = s * max_slice_elements;
    const uint64_t count = std::min(max_slice_elements, n - first);
    auto slice = slices[static_cast<capnp::uint>(s)];
    slice.setOffset(first);
    auto list = slice.initValues(static_cast<capnp::uint>(count));
    if (count > 0) {
      // One memcpy into the list's storage (little-endian floats).
      auto raw = capnp::toAny(list.asReader()).getRawBytes();
      std::memcpy(const_cast<kj::byte*>(raw.begin()), t.values.data() + first,
                  count * sizeof(float));
    }
  }
}

/// Writes `msg`; `stream_id` != 0 leaves its model's values out (a head).
void put(wire::Envelope::Body::Builder body, const message& msg,
         uint64_t stream_id, bool bulk) {
  std::visit(
    [&body, stream_id, bulk](const auto& m) {
      using T = std::decay_t<decltype(m)>;
      if constexpr (std::is_same<T, join_msg>::value) {
        auto j = body.initJoin();
        j.setNodeId(text(m.node_id));
        j.setRole(to_wire(m.role));
        auto caps = j.initCapabilities(
          static_cast<capnp::uint>(m.capabilities.size()));
        for (size_t i = 0; i < m.capabilities.size(); ++i)
          caps.set(static_cast<capnp::uint>(i), text(m.capabilities[i]));
        j.setAuthToken(text(m.auth_token));
        j.setNumSamples(m.num_samples);
        j.setProtocolVersion(m.protocol);
        j.setLayoutHash(m.layout_hash);
        j.setNumel(m.numel);
      } else if constexpr (std::is_same<T, welcome_msg>::value) {
        auto w = body.initWelcome();
        w.setNodeId(text(m.node_id));
        w.setServerId(text(m.server_id));
        w.setModelVersion(m.model_version);
        w.setHeartbeatMs(m.heartbeat_ms);
        w.setFederationMode(to_wire(m.mode));
      } else if constexpr (std::is_same<T, activation_msg>::value) {
        auto a = body.initActivation();
        a.setRound(m.round);
        a.setModelVersion(m.model_version);
        put(a.initModel(), m.model, stream_id, bulk);
        put_config(a.initConfig(static_cast<capnp::uint>(m.config.size())),
                   m.config);
        if (!m.control.values.empty())
          put(a.initControl(), m.control);
      } else if constexpr (std::is_same<T, request_msg>::value) {
        body.initRequest().setNodeId(text(m.node_id));
      } else if constexpr (std::is_same<T, model_msg>::value) {
        auto x = body.initModel();
        x.setModelVersion(m.model_version);
        put(x.initModel(), m.model, stream_id, bulk);
        put_config(x.initConfig(static_cast<capnp::uint>(m.config.size())),
                   m.config);
      } else if constexpr (std::is_same<T, update_msg>::value) {
        auto u = body.initUpdate();
        u.setNodeId(text(m.node_id));
        u.setRound(m.round);
        u.setBaseVersion(m.base_version);
        u.setNumSamples(m.num_samples);
        put(u.initModel(), m.model, stream_id, bulk);
        auto mt = u.initMetrics();
        mt.setLoss(m.metrics.loss);
        mt.setAccuracy(m.metrics.accuracy);
        mt.setTrainSeconds(m.metrics.train_seconds);
        mt.setLocalSteps(m.metrics.local_steps);
        put_config(u.initExtra(static_cast<capnp::uint>(m.extra.size())),
                   m.extra);
      } else if constexpr (std::is_same<T, evaluate_msg>::value) {
        auto e = body.initEvaluate();
        e.setRound(m.round);
        e.setModelVersion(m.model_version);
        put(e.initModel(), m.model, stream_id, bulk);
      } else if constexpr (std::is_same<T, eval_result_msg>::value) {
        auto r = body.initEvalResult();
        r.setNodeId(text(m.node_id));
        r.setRound(m.round);
        r.setNumSamples(m.num_samples);
        r.setLoss(m.loss);
        r.setAccuracy(m.accuracy);
      } else if constexpr (std::is_same<T, heartbeat_msg>::value) {
        auto h = body.initHeartbeat();
        h.setNodeId(text(m.node_id));
        h.setSentAtMs(m.sent_at_ms);
      } else if constexpr (std::is_same<T, exit_msg>::value) {
        body.initExit().setReason(text(m.reason));
      } else if constexpr (std::is_same<T, error_msg>::value) {
        auto e = body.initError();
        e.setCode(m.code);
        e.setMessage(text(m.message));
        e.setNodeId(text(m.node_id));
        e.setRound(m.round);
      } else if constexpr (std::is_same<T, gossip_msg>::value) {
        auto g = body.initGossip();
        g.setNodeId(text(m.node_id));
        g.setStep(m.step);
        g.setWeight(m.weight);
        put(g.initModel(), m.model, stream_id, bulk);
        g.setKind(m.kind == gossip_kind::state ? wire::GossipKind::STATE
                                               : wire::GossipKind::SHARE);
      }
    },
    msg);
}

byte_buffer encode_chunk(uint64_t transfer_id, uint32_t index, uint32_t count,
                         uint64_t total, const uint8_t* data, size_t size) {
  detail::frame_builder builder{size + 256};
  auto env = builder.initRoot<wire::Envelope>();
  auto c = env.initBody().initChunk();
  c.setTransferId(transfer_id);
  c.setIndex(index);
  c.setCount(count);
  c.setTotalBytes(total);
  c.setChecksum(bulk_checksum(data, size));
  auto d = c.initData(static_cast<capnp::uint>(size));
  std::memcpy(d.begin(), data, size);
  return builder.finish();
}

byte_buffer encode_envelope(const envelope& env, uint64_t stream_id,
                            bool bulk = false) {
  size_t size = estimate(env);
  if (stream_id != 0)
    if (const auto* t = model_of(env.body))
      size -= std::min(size, t->values.size_bytes());
  detail::frame_builder builder{size};
  auto root = builder.initRoot<wire::Envelope>();
  root.setTarget(text(env.target));
  put(root.initBody(), env.body, stream_id, bulk);
  if (!env.more_targets.empty()) {
    auto more = root.initMoreTargets(
      static_cast<capnp::uint>(env.more_targets.size()));
    for (size_t i = 0; i < env.more_targets.size(); ++i)
      more.set(static_cast<capnp::uint>(i), text(env.more_targets[i]));
  }
  return builder.finish();
}

caf::error too_large(const envelope& env, const kj::Exception& e) {
  return make_fl_error(errc::too_large,
                       "cannot encode a " + message_name(env.body) + " of "
                         + std::to_string(estimate(env))
                         + " bytes as one message ("
                         + e.getDescription().cStr()
                         + "); models this large travel streamed");
}

} // namespace

byte_buffer encode(const envelope& env) {
  return encode_envelope(env, 0);
}

caf::expected<byte_buffer> encode_head(const envelope& env,
                                       uint64_t transfer_id, bool bulk) {
  assert(transfer_id != 0);
  assert(model_of(env.body) && !model_of(env.body)->packed);
  try {
    return encode_envelope(env, transfer_id, bulk);
  } catch (const kj::Exception& e) {
    return too_large(env, e);
  }
}

byte_buffer encode_tensor_data(uint64_t transfer_id, uint32_t index,
                               uint32_t count, uint64_t offset,
                               span<const float> values) {
  assert(!values.empty() && values.size() <= max_piece_elements);
  detail::frame_builder builder{values.size_bytes() + 128};
  auto d = builder.initRoot<wire::Envelope>().initBody().initTensorData();
  d.setTransferId(transfer_id);
  d.setIndex(index);
  d.setCount(count);
  d.setOffset(offset);
  d.setChecksum(bulk_checksum(values.data(), values.size_bytes()));
  auto list = d.initValues(static_cast<capnp::uint>(values.size()));
  // One memcpy from the model buffer into the frame.
  auto raw = capnp::toAny(list.asReader()).getRawBytes();
  std::memcpy(const_cast<kj::byte*>(raw.begin()), values.data(),
              values.size_bytes());
  return builder.finish();
}

byte_buffer encode_bulk_offer(uint16_t port,
                              const std::array<uint8_t, 32>& ticket) {
  detail::frame_builder builder{128};
  auto o = builder.initRoot<wire::Envelope>().initBody().initBulkOffer();
  o.setPort(port);
  auto d = o.initTicket(static_cast<capnp::uint>(ticket.size()));
  std::memcpy(d.begin(), ticket.data(), ticket.size());
  return builder.finish();
}

byte_buffer encode_credit(uint64_t transfer_id, uint32_t pieces) {
  detail::frame_builder builder{64};
  auto c = builder.initRoot<wire::Envelope>().initBody().initCredit();
  c.setTransferId(transfer_id);
  c.setPieces(pieces);
  return builder.finish();
}

caf::expected<std::vector<byte_buffer>>
try_encode_frames(const envelope& env, size_t chunk_bytes,
                  uint64_t transfer_id) {
  try {
    return encode_frames(env, chunk_bytes, transfer_id);
  } catch (const kj::Exception& e) {
    return too_large(env, e);
  }
}

std::vector<byte_buffer> encode_frames(const envelope& env, size_t chunk_bytes,
                                       uint64_t transfer_id) {
  assert(chunk_bytes > 0);
  std::vector<byte_buffer> frames;
  auto whole = encode(env);
  if (whole.size() <= chunk_bytes) {
    frames.push_back(std::move(whole));
    return frames;
  }
  const size_t count = (whole.size() + chunk_bytes - 1) / chunk_bytes;
  frames.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const size_t first = i * chunk_bytes;
    const size_t size = std::min(chunk_bytes, whole.size() - first);
    frames.push_back(encode_chunk(transfer_id, static_cast<uint32_t>(i),
                                  static_cast<uint32_t>(count), whole.size(),
                                  whole.data() + first, size));
  }
  return frames;
}

} // namespace fl
