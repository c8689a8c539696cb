#include "dispatch/gtfs/detail/files.hpp"

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <cpl_vsi.h>

#include <array>
#include <atomic>
#include <cctype>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fleet::dispatch::gtfs::detail {

namespace {

constexpr std::array<const char*, 9> known_files = {
    "agency.txt",   "stops.txt",          "routes.txt", "trips.txt",    "stop_times.txt",
    "calendar.txt", "calendar_dates.txt", "shapes.txt", "feed_info.txt"};

constexpr std::size_t chunk_bytes = 1 << 20;

struct VsiClose {
    void operator()(VSILFILE* file) const { VSIFCloseL(file); }
};

bool ends_with_zip(const std::string& path) {
    if (path.size() < 4) {
        return false;
    }
    std::string tail = path.substr(path.size() - 4);
    for (auto& c : tail) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return tail == ".zip";
}

bool is_directory(const std::string& path) {
    VSIStatBufL stat;
    return VSIStatL(path.c_str(), &stat) == 0 && VSI_ISDIR(stat.st_mode);
}

std::optional<std::string> read_file(const std::string& dir, const std::string& name,
                                     const Progress& progress) {
    const std::string path = dir + "/" + name;
    VSIStatBufL stat;
    if (VSIStatL(path.c_str(), &stat) != 0 || VSI_ISDIR(stat.st_mode)) {
        return std::nullopt;
    }
    std::unique_ptr<VSILFILE, VsiClose> file(VSIFOpenL(path.c_str(), "rb"));
    if (!file) {
        throw FeedError(name, 0, "", "cannot be opened: " + std::string(CPLGetLastErrorMsg()));
    }
    const auto total = static_cast<std::size_t>(stat.st_size);
    std::string out;
    out.reserve(total);
    std::string chunk(chunk_bytes, '\0');
    while (true) {
        const std::size_t got = VSIFReadL(chunk.data(), 1, chunk.size(), file.get());
        out.append(chunk.data(), got);
        if (progress && total > chunk_bytes) {
            progress("reading " + name, out.size(), total);
        }
        if (got < chunk.size()) {
            break;
        }
    }
    if (out.size() != total) {
        throw FeedError(name, 0, "",
                        "read error after " + std::to_string(out.size()) + " of " +
                            std::to_string(total) + " bytes");
    }
    return out;
}

}  // namespace

FeedFiles load_feed_files(const std::string& path, const Progress& progress,
                          std::size_t max_bytes) {
    CPLErrorReset();
    CPLPushErrorHandler(CPLQuietErrorHandler);
    struct PopHandler {
        ~PopHandler() { CPLPopErrorHandler(); }
    } pop;

    std::string root;
    if (is_directory(path)) {
        root = path;
    } else if (ends_with_zip(path)) {
        VSIStatBufL stat;
        if (VSIStatL(path.c_str(), &stat) != 0) {
            throw FeedError(path, 0, "", "no such file");
        }
        root = "/vsizip/" + path;
        if (!is_directory(root)) {
            throw FeedError(path, 0, "", "not a readable zip archive");
        }
    } else {
        throw FeedError(path, 0, "", "not a folder or a .zip file");
    }
    // Some publishers zip the folder instead of its contents: look one level down when the
    // root holds no agency.txt but a single folder.
    if (!read_file(root, "agency.txt", {})) {
        char** entries = VSIReadDir(root.c_str());
        std::vector<std::string> dirs;
        for (char** e = entries; e != nullptr && *e != nullptr; ++e) {
            const std::string name = *e;
            if (name != "." && name != ".." && is_directory(root + "/" + name)) {
                dirs.push_back(name);
            }
        }
        CSLDestroy(entries);
        if (dirs.size() == 1) {
            root += "/" + dirs.front();
        }
    }

    if (max_bytes > 0) {
        std::size_t total = 0;
        for (const char* name : known_files) {
            VSIStatBufL stat;
            const std::string file = root + "/" + name;
            if (VSIStatL(file.c_str(), &stat) == 0 && !VSI_ISDIR(stat.st_mode)) {
                total += static_cast<std::size_t>(stat.st_size);
            }
        }
        if (total > max_bytes) {
            throw FeedError(path, 0, "",
                            "its files hold " + std::to_string(total) + " bytes, more than the " +
                                std::to_string(max_bytes) + " taken");
        }
    }
    FeedFiles files;
    for (const char* name : known_files) {
        if (auto text = read_file(root, name, progress)) {
            files.emplace(name, std::move(*text));
        }
    }
    return files;
}

FeedFiles load_feed_zip(std::string_view zip, const Progress& progress, std::size_t max_bytes) {
    static std::atomic<std::uint64_t> uploads{0};
    const std::string path = "/vsimem/fleet-gtfs-upload-" + std::to_string(++uploads) + ".zip";
    // GDAL reads the caller's bytes in place (not owned, not copied).
    VSILFILE* file =
        VSIFileFromMemBuffer(path.c_str(), reinterpret_cast<GByte*>(const_cast<char*>(zip.data())),
                             static_cast<vsi_l_offset>(zip.size()), FALSE);
    if (file == nullptr) {
        throw FeedError("upload", 0, "", "cannot be read as a file");
    }
    VSIFCloseL(file);
    struct Unlink {
        const std::string& path;
        ~Unlink() { VSIUnlink(path.c_str()); }
    } unlink{path};
    try {
        return load_feed_files(path, progress, max_bytes);
    } catch (const FeedError& e) {
        // Name the upload, not the virtual file.
        std::string what = e.what();
        if (const auto at = what.find(path); at != std::string::npos) {
            what.replace(at, path.size(), "the upload");
        }
        throw InputError(what);
    }
}

}  // namespace fleet::dispatch::gtfs::detail
