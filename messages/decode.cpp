// Decoding and validation: frames -> C++ values. Everything a peer sends is
// untrusted, so every field is checked here before any actor sees it.

#include <cmath>
#include <cstring>

#include <capnp/any.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include "messages/codec.hpp"
#include "messages/fl.capnp.h"
#include "runtime/aggregation/aggregate.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/core/hashing.hpp"

namespace fl {

namespace {

/// Most segments a frame may declare (our encoder writes one).
constexpr uint32_t max_segments = 512;

caf::error fail(errc code, std::string what) {
  return make_fl_error(code, std::move(what));
}

caf::error check_text(capnp::Text::Reader x, const char* field, bool required,
                      const decode_limits& limits) {
  if (required && x.size() == 0)
    return fail(errc::invalid_field, std::string{field} + " is empty");
  if (x.size() > limits.max_text_bytes)
    return fail(errc::too_large, std::string{field} + " has "
                                   + std::to_string(x.size()) + " bytes");
  return caf::none;
}

caf::error check_finite(double x, const char* field) {
  if (std::isfinite(x))
    return caf::none;
  return fail(errc::non_finite_value, std::string{field} + " is not finite");
}

caf::error check_unit(double x, const char* field) {
  if (auto err = check_finite(x, field))
    return err;
  if (x < 0 || x > 1)
    return fail(errc::invalid_field,
                std::string{field} + " = " + std::to_string(x)
                  + " is outside [0, 1]");
  return caf::none;
}

caf::expected<federation_mode> get_mode(wire::Mode x) {
  switch (x) {
    case wire::Mode::SYNC: return federation_mode::sync;
    case wire::Mode::ASYNC: return federation_mode::async;
    case wire::Mode::FEDBUFF: return federation_mode::fedbuff;
    default:
      return fail(errc::unknown_enum_value,
                  "welcome.federationMode = "
                    + std::to_string(static_cast<int>(x)));
  }
}

caf::expected<node_role> get_role(wire::Role x) {
  switch (x) {
    case wire::Role::SERVER: return node_role::server;
    case wire::Role::SCHEDULER: return node_role::scheduler;
    case wire::Role::CLIENT: return node_role::client;
    case wire::Role::PEER: return node_role::peer;
    default:
      return fail(errc::unknown_enum_value,
                  "join.role = " + std::to_string(static_cast<int>(x)));
  }
}

/// A capnp list's storage as a typed view (zero copy). Errors:
/// `malformed_message` when the list is not stored as plain T values.
template <class T, class List>
caf::expected<span<const T>> raw_view(List list, const std::string& field) {
  auto raw = capnp::toAny(list).getRawBytes();
  if (raw.size() != size_t{list.size()} * sizeof(T)
      || reinterpret_cast<uintptr_t>(raw.begin()) % alignof(T) != 0)
    return fail(errc::malformed_message, field + ": not a packed list");
  return span<const T>{reinterpret_cast<const T*>(raw.begin()), list.size()};
}

/// Validates a Packed payload of `numel` values (views into the frame).
caf::expected<std::shared_ptr<const encoded_tensor>>
get_packed(wire::Packed::Reader p, wire::DType dtype, uint64_t numel,
           const std::string& f, const std::shared_ptr<const byte_buffer>& owner) {
  auto t = std::make_shared<encoded_tensor>();
  t->numel = numel;
  t->owner = owner;
  switch (p.which()) {
    case wire::Packed::HALF: {
      if (dtype == wire::DType::FLOAT16)
        t->encoding = tensor_encoding::float16;
      else if (dtype == wire::DType::BFLOAT16)
        t->encoding = tensor_encoding::bfloat16;
      else
        return fail(errc::unsupported_dtype,
                    f + ".packed.half needs dtype float16 or bfloat16");
      auto half = raw_view<uint16_t>(p.getHalf(), f + ".packed.half");
      if (!half)
        return std::move(half.error());
      t->half = *half;
      break;
    }
    case wire::Packed::TOPK: {
      t->encoding = tensor_encoding::topk;
      auto parts = p.getTopk();
      if (parts.size() > numel / (uint64_t{1} << 32) + 1)
        return fail(errc::invalid_field,
                    f + ".packed.topk has more parts than the model needs");
      for (auto part : parts) {
        if (part.getOffset() % (uint64_t{1} << 32) != 0)
          return fail(errc::invalid_field,
                      f + ".packed.topk: an offset is not a multiple of 2^32");
        auto idx = raw_view<uint32_t>(part.getIndices(),
                                      f + ".packed.topk.indices");
        if (!idx)
          return std::move(idx.error());
        auto vals = raw_view<float>(part.getValues(), f + ".packed.topk.values");
        if (!vals)
          return std::move(vals.error());
        t->sparse.push_back(sparse_part{part.getOffset(), *idx, *vals});
      }
      break;
    }
    case wire::Packed::QSGD: {
      t->encoding = tensor_encoding::qsgd;
      auto q = p.getQsgd();
      t->qsgd.levels = q.getLevels();
      t->qsgd.bits = q.getBits();
      t->qsgd.bucket = q.getBucket();
      auto norms = raw_view<float>(q.getNorms(), f + ".packed.qsgd.norms");
      if (!norms)
        return std::move(norms.error());
      t->qsgd.norms = *norms;
      auto codes = q.getCodes();
      t->qsgd.codes = span<const uint8_t>{codes.begin(), codes.size()};
      break;
    }
    default:
      return fail(errc::unknown_enum_value, f + ".packed: unknown encoding");
  }
  if (auto err = validate(*t, f + ".packed"))
    return err;
  return std::shared_ptr<const encoded_tensor>{std::move(t)};
}

/// Validates a list of ConfigEntry (keys unique, limits of config_map).
caf::expected<config_map> get_config(capnp::List<wire::ConfigEntry>::Reader xs,
                                     const std::string& field,
                                     const decode_limits& limits) {
  if (xs.size() > config_max_entries)
    return fail(errc::too_large, field + " has " + std::to_string(xs.size())
                                   + " entries");
  config_map m;
  for (auto e : xs) {
    auto key = e.getKey();
    if (auto err = check_text(key, "config key", true, limits))
      return err;
    std::string k{key.cStr(), key.size()};
    config_value v;
    switch (e.getValue().which()) {
      case wire::ConfigEntry::Value::INT: v = e.getValue().getInt(); break;
      case wire::ConfigEntry::Value::REAL: v = e.getValue().getReal(); break;
      case wire::ConfigEntry::Value::TEXT: {
        auto x = e.getValue().getText();
        if (x.size() > config_max_text_bytes)
          return fail(errc::too_large, field + ": " + k + " is too long");
        v = std::string{x.cStr(), x.size()};
        break;
      }
      case wire::ConfigEntry::Value::FLAG: v = e.getValue().getFlag(); break;
      default:
        return fail(errc::unknown_enum_value, field + ": " + k
                                                + " has an unknown type");
    }
    if (!m.emplace(k, std::move(v)).second)
      return fail(errc::invalid_field, field + ": key " + k + " twice");
  }
  if (auto err = check_config_map(m, field))
    return err;
  return m;
}

/// Validates a Tensor and returns it as a view into the frame. Only an
/// update may carry a compressed (packed) tensor.
caf::expected<tensor> get_tensor(wire::Tensor::Reader t, const char* field,
                                 const std::shared_ptr<const byte_buffer>& owner,
                                 const decode_limits& limits,
                                 bool allow_packed = false,
                                 bool allow_streamed = false) {
  std::string f{field};
  tensor result;
  result.owner = owner;
  switch (t.getDtype()) {
    case wire::DType::FLOAT32:
    case wire::DType::FLOAT16:
    case wire::DType::BFLOAT16: break;
    default:
      return fail(errc::unknown_enum_value,
                  f + ".dtype = "
                    + std::to_string(static_cast<int>(t.getDtype())));
  }
  switch (t.getKind()) {
    case wire::TensorKind::PARAMS: result.kind = tensor_kind::params; break;
    case wire::TensorKind::DELTA: result.kind = tensor_kind::delta; break;
    default:
      return fail(errc::unknown_enum_value,
                  f + ".kind = "
                    + std::to_string(static_cast<int>(t.getKind())));
  }
  auto layers = t.getLayers();
  if (layers.size() == 0)
    return fail(errc::invalid_field, f + ".layers is empty");
  if (layers.size() > limits.max_layers)
    return fail(errc::too_large, f + ".layers has "
                                   + std::to_string(layers.size())
                                   + " entries");
  std::vector<std::pair<std::string, std::vector<int64_t>>> specs;
  specs.reserve(layers.size());
  for (auto l : layers) {
    auto name = l.getName();
    if (auto err = check_text(name, "layer name", true, limits))
      return err;
    auto shape = l.getShape();
    if (shape.size() > 64)
      return fail(errc::too_large, f + ": a layer has "
                                     + std::to_string(shape.size())
                                     + " dimensions");
    std::vector<int64_t> dims;
    dims.reserve(shape.size());
    for (auto d : shape)
      dims.push_back(d);
    specs.emplace_back(std::string{name.cStr(), name.size()}, std::move(dims));
  }
  auto layout = model_layout::make(std::move(specs));
  if (!layout)
    return fail(errc::invalid_field, f + ".layers: " + describe(layout.error()));
  if (layout->hash() != t.getLayoutHash())
    return fail(errc::layout_mismatch,
                f + ".layoutHash does not match the layers it describes");
  if (layout->numel() != t.getNumel())
    return fail(errc::size_mismatch,
                f + ".numel = " + std::to_string(t.getNumel())
                  + " but the layers hold " + std::to_string(layout->numel()));
  const uint64_t numel = layout->numel();
  if (numel * sizeof(float) > limits.max_message_bytes)
    return fail(errc::too_large, f + " has " + std::to_string(numel)
                                   + " elements");
  if (t.hasPacked()) {
    if (!allow_packed)
      return fail(errc::invalid_field, f + " may not be compressed");
    if (result.kind != tensor_kind::delta)
      return fail(errc::invalid_field, f + ": a compressed tensor must be a "
                                           "delta");
    if (t.getSlices().size() != 0)
      return fail(errc::invalid_field,
                  f + " has both dense slices and a packed payload");
    auto packed = get_packed(t.getPacked(), t.getDtype(), numel, f, owner);
    if (!packed)
      return std::move(packed.error());
    result.packed = std::move(*packed);
    result.layout = std::move(*layout);
    return result;
  }
  if (t.getDtype() != wire::DType::FLOAT32)
    return fail(errc::unsupported_dtype,
                f + ".dtype: dense slices are float32");
  if (t.getStreamId() != 0) {
    // A head: the values follow as TensorData pieces.
    if (!allow_streamed)
      return fail(errc::invalid_field, f + " may not be streamed");
    if (t.getSlices().size() != 0)
      return fail(errc::invalid_field,
                  f + " is streamed but also carries slices");
    result.stream_id = t.getStreamId();
    result.bulk = t.getBulk();
    result.layout = std::move(*layout);
    return result;
  }
  auto slices = t.getSlices();
  if (slices.size() == 0)
    return fail(errc::size_mismatch, f + ".slices is empty");
  std::vector<span<const float>> parts;
  parts.reserve(slices.size());
  uint64_t next = 0;
  for (auto s : slices) {
    if (s.getOffset() != next)
      return fail(errc::size_mismatch,
                  f + ".slices: offset " + std::to_string(s.getOffset())
                    + " where " + std::to_string(next) + " was expected");
    auto values = s.getValues();
    auto raw = capnp::toAny(values).getRawBytes();
    if (raw.size() != size_t{values.size()} * sizeof(float)
        || reinterpret_cast<uintptr_t>(raw.begin()) % alignof(float) != 0)
      return fail(errc::malformed_message, f + ".slices: not a float list");
    if (values.size() > numel - next)
      return fail(errc::size_mismatch, f + ".slices hold more than numel");
    parts.emplace_back(reinterpret_cast<const float*>(raw.begin()),
                       values.size());
    next += values.size();
  }
  if (next != numel)
    return fail(errc::size_mismatch,
                f + ".slices hold " + std::to_string(next) + " of "
                  + std::to_string(numel) + " elements");
  for (auto part : parts)
    if (!all_finite(part))
      return fail(errc::non_finite_value, f + " holds NaN or Inf");
  if (parts.size() == 1) {
    result.values = parts.front(); // zero copy: a view into the frame
  } else {
    // A model above 2 GiB spans several lists; join them once so that
    // receivers always see one contiguous span.
    auto joined = std::make_shared<std::vector<float>>();
    joined->reserve(numel);
    for (auto part : parts)
      joined->insert(joined->end(), part.begin(), part.end());
    result.values = span<const float>{joined->data(), joined->size()};
    result.owner = joined;
  }
  result.layout = std::move(*layout);
  return result;
}

#define FL_TRY_ASSIGN(lhs, expr)                                               \
  do {                                                                         \
    auto fl_tmp_ = (expr);                                                     \
    if (!fl_tmp_)                                                              \
      return std::move(fl_tmp_.error());                                       \
    lhs = std::move(*fl_tmp_);                                                 \
  } while (false)

#define FL_TRY(expr)                                                           \
  do {                                                                         \
    if (auto fl_err_ = (expr))                                                 \
      return fl_err_;                                                          \
  } while (false)

std::string str(capnp::Text::Reader x) {
  return std::string{x.cStr(), x.size()};
}

caf::expected<message>
get_body(wire::Envelope::Body::Reader body,
         const std::shared_ptr<const byte_buffer>& owner,
         const decode_limits& limits) {
  switch (body.which()) {
    case wire::Envelope::Body::JOIN: {
      auto j = body.getJoin();
      join_msg m;
      FL_TRY(check_text(j.getNodeId(), "join.nodeId", true, limits));
      FL_TRY(check_text(j.getAuthToken(), "join.authToken", false, limits));
      FL_TRY_ASSIGN(m.role, get_role(j.getRole()));
      auto caps = j.getCapabilities();
      if (caps.size() > 64)
        return fail(errc::too_large, "join.capabilities has "
                                       + std::to_string(caps.size())
                                       + " entries");
      for (auto c : caps) {
        FL_TRY(check_text(c, "join.capabilities", true, limits));
        m.capabilities.push_back(str(c));
      }
      m.node_id = str(j.getNodeId());
      m.auth_token = str(j.getAuthToken());
      m.num_samples = j.getNumSamples();
      m.protocol = j.getProtocolVersion();
      m.layout_hash = j.getLayoutHash();
      m.numel = j.getNumel();
      return message{std::move(m)};
    }
    case wire::Envelope::Body::WELCOME: {
      auto w = body.getWelcome();
      FL_TRY(check_text(w.getNodeId(), "welcome.nodeId", true, limits));
      FL_TRY(check_text(w.getServerId(), "welcome.serverId", true, limits));
      federation_mode mode;
      FL_TRY_ASSIGN(mode, get_mode(w.getFederationMode()));
      return message{welcome_msg{str(w.getNodeId()), str(w.getServerId()),
                                 w.getModelVersion(), w.getHeartbeatMs(),
                                 mode}};
    }
    case wire::Envelope::Body::ACTIVATION: {
      auto a = body.getActivation();
      activation_msg m;
      m.round = a.getRound();
      m.model_version = a.getModelVersion();
      if (m.round == 0)
        return fail(errc::invalid_field, "activation.round is 0");
      FL_TRY_ASSIGN(m.model, get_tensor(a.getModel(), "activation.model",
                                        owner, limits, false, true));
      FL_TRY_ASSIGN(m.config, get_config(a.getConfig(), "activation.config",
                                         limits));
      if (a.hasControl()) {
        FL_TRY_ASSIGN(m.control, get_tensor(a.getControl(),
                                            "activation.control", owner,
                                            limits));
        if (m.control.layout != m.model.layout)
          return fail(errc::layout_mismatch,
                      "activation.control does not match the model");
      }
      return message{std::move(m)};
    }
    case wire::Envelope::Body::REQUEST: {
      auto r = body.getRequest();
      FL_TRY(check_text(r.getNodeId(), "request.nodeId", true, limits));
      return message{request_msg{str(r.getNodeId())}};
    }
    case wire::Envelope::Body::MODEL: {
      auto x = body.getModel();
      model_msg m;
      m.model_version = x.getModelVersion();
      FL_TRY_ASSIGN(m.model,
                    get_tensor(x.getModel(), "model.model", owner, limits,
                               false, true));
      FL_TRY_ASSIGN(m.config, get_config(x.getConfig(), "model.config",
                                         limits));
      return message{std::move(m)};
    }
    case wire::Envelope::Body::UPDATE: {
      auto u = body.getUpdate();
      update_msg m;
      FL_TRY(check_text(u.getNodeId(), "update.nodeId", true, limits));
      m.node_id = str(u.getNodeId());
      m.round = u.getRound();
      m.base_version = u.getBaseVersion();
      m.num_samples = u.getNumSamples();
      if (m.num_samples == 0)
        return fail(errc::invalid_field, "update.numSamples is 0");
      auto mt = u.getMetrics();
      FL_TRY(check_finite(mt.getLoss(), "update.metrics.loss"));
      FL_TRY(check_unit(mt.getAccuracy(), "update.metrics.accuracy"));
      FL_TRY(check_finite(mt.getTrainSeconds(), "update.metrics.trainSeconds"));
      if (mt.getTrainSeconds() < 0)
        return fail(errc::invalid_field, "update.metrics.trainSeconds < 0");
      m.metrics = train_metrics{mt.getLoss(), mt.getAccuracy(),
                                mt.getTrainSeconds(), mt.getLocalSteps()};
      FL_TRY_ASSIGN(m.model, get_tensor(u.getModel(), "update.model", owner,
                                        limits, /*allow_packed=*/true,
                                        /*allow_streamed=*/true));
      FL_TRY_ASSIGN(m.extra, get_config(u.getExtra(), "update.extra",
                                        limits));
      return message{std::move(m)};
    }
    case wire::Envelope::Body::EVALUATE: {
      auto e = body.getEvaluate();
      evaluate_msg m;
      m.round = e.getRound();
      m.model_version = e.getModelVersion();
      FL_TRY_ASSIGN(m.model, get_tensor(e.getModel(), "evaluate.model", owner,
                                        limits, false, true));
      return message{std::move(m)};
    }
    case wire::Envelope::Body::EVAL_RESULT: {
      auto r = body.getEvalResult();
      FL_TRY(check_text(r.getNodeId(), "evalResult.nodeId", true, limits));
      if (r.getNumSamples() == 0)
        return fail(errc::invalid_field, "evalResult.numSamples is 0");
      FL_TRY(check_finite(r.getLoss(), "evalResult.loss"));
      FL_TRY(check_unit(r.getAccuracy(), "evalResult.accuracy"));
      return message{eval_result_msg{str(r.getNodeId()), r.getRound(),
                                     r.getNumSamples(), r.getLoss(),
                                     r.getAccuracy()}};
    }
    case wire::Envelope::Body::HEARTBEAT: {
      auto h = body.getHeartbeat();
      FL_TRY(check_text(h.getNodeId(), "heartbeat.nodeId", true, limits));
      return message{heartbeat_msg{str(h.getNodeId()), h.getSentAtMs()}};
    }
    case wire::Envelope::Body::EXIT: {
      auto x = body.getExit();
      FL_TRY(check_text(x.getReason(), "exit.reason", false, limits));
      return message{exit_msg{str(x.getReason())}};
    }
    case wire::Envelope::Body::ERROR: {
      auto e = body.getError();
      FL_TRY(check_text(e.getMessage(), "error.message", false, limits));
      FL_TRY(check_text(e.getNodeId(), "error.nodeId", false, limits));
      return message{error_msg{e.getCode(), str(e.getMessage()),
                               str(e.getNodeId()), e.getRound()}};
    }
    case wire::Envelope::Body::GOSSIP: {
      auto g = body.getGossip();
      gossip_msg m;
      FL_TRY(check_text(g.getNodeId(), "gossip.nodeId", true, limits));
      m.node_id = str(g.getNodeId());
      m.step = g.getStep();
      m.weight = g.getWeight();
      FL_TRY(check_finite(m.weight, "gossip.weight"));
      if (!(m.weight > 0 && m.weight <= max_gossip_weight))
        return fail(errc::invalid_field,
                    "gossip.weight must be in (0, 2^20], got "
                      + std::to_string(m.weight));
      switch (g.getKind()) {
        case wire::GossipKind::SHARE: m.kind = gossip_kind::share; break;
        case wire::GossipKind::STATE: m.kind = gossip_kind::state; break;
        default:
          return fail(errc::unknown_enum_value,
                      "gossip.kind = "
                        + std::to_string(static_cast<int>(g.getKind())));
      }
      FL_TRY_ASSIGN(m.model, get_tensor(g.getModel(), "gossip.model", owner,
                                        limits, false, true));
      if (m.model.kind != tensor_kind::params)
        return fail(errc::invalid_field, "gossip.model must be params");
      return message{std::move(m)};
    }
    case wire::Envelope::Body::CHUNK:
    case wire::Envelope::Body::TENSOR_DATA:
    case wire::Envelope::Body::CREDIT:
    case wire::Envelope::Body::BULK_OFFER:
      return fail(errc::unexpected_message,
                  "a transfer frame inside a message body");
    default:
      return fail(errc::unknown_enum_value,
                  "envelope.body tag = "
                    + std::to_string(static_cast<int>(body.which())));
  }
}

/// Checks one TensorData piece on its own (its place in the transfer is the
/// assembler's to check). Errors: `invalid_field`, `size_mismatch`,
/// `malformed_message`, `checksum_mismatch`, `non_finite_value`.
caf::expected<frame>
get_tensor_data(wire::TensorData::Reader d,
                const std::shared_ptr<const byte_buffer>& owner) {
  tensor_data_view v;
  v.transfer_id = d.getTransferId();
  v.index = d.getIndex();
  v.count = d.getCount();
  v.offset = d.getOffset();
  v.owner = owner;
  if (v.transfer_id == 0)
    return fail(errc::invalid_field, "tensorData.transferId is 0");
  if (v.count == 0 || v.index >= v.count)
    return fail(errc::invalid_field,
                "tensorData.index " + std::to_string(v.index) + " of "
                  + std::to_string(v.count));
  auto values = raw_view<float>(d.getValues(), "tensorData.values");
  if (!values)
    return std::move(values.error());
  if (values->empty() || values->size() > max_piece_elements)
    return fail(errc::size_mismatch, "tensorData.values holds "
                                       + std::to_string(values->size())
                                       + " elements");
  if (bulk_checksum(values->data(), values->size_bytes()) != d.getChecksum())
    return fail(errc::checksum_mismatch,
                "tensorData " + std::to_string(v.index) + " of transfer "
                  + std::to_string(v.transfer_id) + " is corrupt");
  if (!all_finite(*values))
    return fail(errc::non_finite_value, "tensorData.values holds NaN or Inf");
  v.values = *values;
  return frame{std::move(v)};
}

caf::expected<frame> decode_unchecked(
  const std::shared_ptr<const byte_buffer>& bytes,
  const decode_limits& limits) {
  const auto& buf = *bytes;
  if (buf.size() < 8)
    return fail(errc::truncated_message,
                "frame of " + std::to_string(buf.size()) + " bytes");
  if (buf.size() > limits.max_message_bytes)
    return fail(errc::too_large, "frame of " + std::to_string(buf.size())
                                   + " bytes exceeds the limit");
  if (buf.size() % 8 != 0)
    return fail(errc::truncated_message, "frame size "
                                           + std::to_string(buf.size())
                                           + " is not a multiple of 8");
  if (reinterpret_cast<uintptr_t>(buf.data()) % 8 != 0)
    return fail(errc::malformed_message, "frame buffer is not 8-byte aligned");
  // Check the segment table ourselves so that a short frame reports
  // "truncated" instead of a generic parse failure.
  uint32_t count_minus_one = 0;
  std::memcpy(&count_minus_one, buf.data(), 4);
  if (count_minus_one >= max_segments)
    return fail(errc::malformed_message,
                "frame declares " + std::to_string(count_minus_one + 1ull)
                  + " segments");
  const uint64_t nseg = count_minus_one + 1ull;
  const uint64_t table_bytes = ((4 + nseg * 4 + 7) / 8) * 8;
  if (buf.size() < table_bytes)
    return fail(errc::truncated_message, "frame ends inside the segment table");
  uint64_t body_words = 0;
  for (uint64_t i = 0; i < nseg; ++i) {
    uint32_t words = 0;
    std::memcpy(&words, buf.data() + 4 + i * 4, 4);
    body_words += words;
  }
  if (table_bytes + body_words * 8 > buf.size())
    return fail(errc::truncated_message,
                "frame holds " + std::to_string(buf.size())
                  + " bytes but its segments need "
                  + std::to_string(table_bytes + body_words * 8));
  capnp::ReaderOptions opts;
  // Cap'n Proto's default traversal limit (64 MiB) would refuse big models.
  // A valid frame reads each of its words about once; we allow 4x that
  // (fields are read more than once) so pointer loops and amplification
  // attacks are still refused, whatever the model size.
  opts.traversalLimitInWords = body_words * 4 + 4096;
  opts.nestingLimit = 16;
  try {
    kj::ArrayPtr<const capnp::word> words{
      reinterpret_cast<const capnp::word*>(buf.data()), buf.size() / 8};
    capnp::FlatArrayMessageReader reader{words, opts};
    auto root = reader.getRoot<wire::Envelope>();
    auto body = root.getBody();
    if (body.which() == wire::Envelope::Body::CHUNK) {
      auto c = body.getChunk();
      chunk_view v;
      v.transfer_id = c.getTransferId();
      v.index = c.getIndex();
      v.count = c.getCount();
      v.total_bytes = c.getTotalBytes();
      v.checksum = c.getChecksum();
      auto data = c.getData();
      v.data = span<const uint8_t>{data.begin(), data.size()};
      v.owner = bytes;
      if (v.count < 2)
        return fail(errc::invalid_field, "chunk.count must be >= 2, got "
                                           + std::to_string(v.count));
      if (v.index >= v.count)
        return fail(errc::invalid_field,
                    "chunk.index " + std::to_string(v.index)
                      + " >= count " + std::to_string(v.count));
      if (v.total_bytes > limits.max_message_bytes)
        return fail(errc::too_large,
                    "chunked transfer of " + std::to_string(v.total_bytes)
                      + " bytes exceeds the limit");
      if (v.data.empty() || v.data.size() > v.total_bytes)
        return fail(errc::size_mismatch, "chunk.data has "
                                           + std::to_string(v.data.size())
                                           + " bytes");
      return frame{std::move(v)};
    }
    if (body.which() == wire::Envelope::Body::TENSOR_DATA)
      return get_tensor_data(body.getTensorData(), bytes);
    if (body.which() == wire::Envelope::Body::CREDIT) {
      auto c = body.getCredit();
      if (c.getTransferId() == 0 || c.getPieces() == 0)
        return fail(errc::invalid_field,
                    "credit.transferId and credit.pieces must be > 0");
      return frame{credit_view{c.getTransferId(), c.getPieces()}};
    }
    if (body.which() == wire::Envelope::Body::BULK_OFFER) {
      auto o = body.getBulkOffer();
      bulk_offer_view v;
      v.port = o.getPort();
      auto t = o.getTicket();
      if (v.port == 0 || t.size() != v.ticket.size())
        return fail(errc::invalid_field,
                    "bulkOffer needs a port and a 32-byte ticket");
      std::memcpy(v.ticket.data(), t.begin(), t.size());
      return frame{v};
    }
    auto target = root.getTarget();
    FL_TRY(check_text(target, "envelope.target", false, limits));
    envelope env;
    env.target = str(target);
    auto more = root.getMoreTargets();
    if (more.size() > 65536)
      return fail(errc::too_large, "envelope.moreTargets has "
                                     + std::to_string(more.size())
                                     + " entries");
    if (more.size() > 0 && target.size() == 0)
      return fail(errc::invalid_field,
                  "envelope.moreTargets without a target");
    for (auto t : more) {
      FL_TRY(check_text(t, "envelope.moreTargets", true, limits));
      env.more_targets.push_back(str(t));
    }
    FL_TRY_ASSIGN(env.body, get_body(body, bytes, limits));
    return frame{std::move(env)};
  } catch (const kj::Exception& e) {
    return fail(errc::malformed_message,
                std::string{e.getDescription().cStr()});
  }
}

} // namespace

caf::expected<frame> decode_frame(std::shared_ptr<const byte_buffer> bytes,
                                  const decode_limits& limits) {
  if (!bytes)
    return fail(errc::truncated_message, "no frame");
  return decode_unchecked(bytes, limits);
}

caf::expected<envelope> decode(std::shared_ptr<const byte_buffer> bytes,
                               const decode_limits& limits) {
  auto f = decode_frame(std::move(bytes), limits);
  if (!f)
    return std::move(f.error());
  if (auto* env = std::get_if<envelope>(&*f))
    return std::move(*env);
  return fail(errc::unexpected_message,
              "a transfer frame where a message was expected");
}

} // namespace fl
