#include "geo/metrics.hpp"

#include <charconv>
#include <cmath>

namespace fleet::geo {

namespace {

void append_value(std::string& out, double v) {
    if (std::isnan(v)) {
        out += "NaN";
        return;
    }
    if (std::isinf(v)) {
        out += v > 0 ? "+Inf" : "-Inf";
        return;
    }
    char buf[32];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, ec == std::errc{} ? end : buf);
}

}  // namespace

std::string label(std::string_view key, std::string_view value) {
    std::string out(key);
    out += "=\"";
    for (const char c : value) {
        switch (c) {
            case '\\':
                out += "\\\\";
                break;
            case '"':
                out += "\\\"";
                break;
            case '\n':
                out += "\\n";
                break;
            default:
                out += c;
        }
    }
    return out + "\"";
}

void write_family(std::string& out, std::string_view name, std::string_view type,
                  std::string_view help, const std::vector<Sample>& samples) {
    out.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
    for (const auto& s : samples) {
        out.append(name);
        if (!s.labels.empty()) {
            out.append("{").append(s.labels).append("}");
        }
        out += ' ';
        append_value(out, s.value);
        out += '\n';
    }
}

void MetricsRegistry::add(std::string part, Collector collect) {
    std::lock_guard lock(mutex_);
    collectors_.emplace_back(std::move(part), std::move(collect));
}

std::string MetricsRegistry::prometheus_text() const {
    std::vector<Collector> collectors;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [part, c] : collectors_) {
            collectors.push_back(c);
        }
    }
    std::string out;
    for (const auto& c : collectors) {
        c(out);
    }
    return out;
}

}  // namespace fleet::geo
