// include_check: fails when a source file includes a header of a layer it may not use.
//
//   include_check --root DIR --layers FILE
//
// FILE (written by CMake from the sipsd_layer() calls, see CMakeLists.txt) has one line per
// layer: `name path dep…`, where path is a folder (every .h/.cc directly in it) or a single
// file. A file may include (with quotes) headers of its own layer and of every layer reachable
// through the deps; every .h/.cc under the folders of the tree must belong to a layer. Angle
// includes (<…>) are not checked. Prints one line per violation, "file:line: why", and exits
// 1 when there is any, 2 on a usage or I/O error.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

struct Layer {
  std::string name;
  std::string path;  // folder or file, relative to the root
  std::vector<std::string> deps;
};

struct Graph {
  std::vector<Layer> layers;
  std::map<std::string, size_t> by_name;

  // The layer a root-relative path belongs to: an exact file entry, else the folder holding it.
  const Layer* owner(const std::string& rel) const {
    for (const Layer& l : layers)
      if (l.path == rel) return &l;
    std::string dir = fs::path(rel).parent_path().string();
    for (const Layer& l : layers)
      if (l.path == dir) return &l;
    return nullptr;
  }

  // Names of the layers `l` may use, itself included.
  std::set<std::string> reachable(const Layer& l) const {
    std::set<std::string> seen = {l.name};
    std::vector<std::string> todo(l.deps.begin(), l.deps.end());
    while (!todo.empty()) {
      std::string n = todo.back();
      todo.pop_back();
      if (!seen.insert(n).second) continue;
      auto it = by_name.find(n);
      if (it == by_name.end()) continue;
      for (const std::string& d : layers[it->second].deps) todo.push_back(d);
    }
    return seen;
  }
};

bool read_graph(const std::string& file, Graph* g) {
  std::ifstream in(file);
  if (!in) return false;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    Layer l;
    if (!(words >> l.name >> l.path)) continue;
    for (std::string d; words >> d;) l.deps.push_back(d);
    g->by_name[l.name] = g->layers.size();
    g->layers.push_back(std::move(l));
  }
  return !g->layers.empty();
}

std::string join(const std::set<std::string>& s) {
  std::string out;
  for (const std::string& x : s) out += (out.empty() ? "" : ", ") + x;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string root;
  std::string layers_file;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string opt = argv[i];
    if (opt == "--root") root = argv[i + 1];
    if (opt == "--layers") layers_file = argv[i + 1];
  }
  Graph g;
  if (root.empty() || layers_file.empty() || !read_graph(layers_file, &g)) {
    fprintf(stderr, "usage: include_check --root DIR --layers FILE (a readable layer list)\n");
    return 2;
  }

  // Every source file in the top-level folders that hold layers.
  std::set<std::string> tops;
  for (const Layer& l : g.layers) tops.insert(fs::path(l.path).begin()->string());
  std::vector<std::string> files;
  for (const std::string& top : tops) {
    fs::path dir = fs::path(root) / top;
    if (!fs::is_directory(dir)) continue;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
      std::string ext = e.path().extension().string();
      if (e.is_regular_file() && (ext == ".h" || ext == ".cc"))
        files.push_back(fs::relative(e.path(), root).string());
    }
  }
  std::sort(files.begin(), files.end());

  int violations = 0;
  for (const std::string& rel : files) {
    const Layer* self = g.owner(rel);
    if (self == nullptr) {
      printf("%s:1: belongs to no layer: give its folder a sipsd_layer() in CMakeLists.txt\n",
             rel.c_str());
      ++violations;
      continue;
    }
    const std::set<std::string> allowed = g.reachable(*self);
    std::ifstream in(fs::path(root) / rel);
    std::string line;
    for (int lineno = 1; std::getline(in, line); ++lineno) {
      size_t p = line.find_first_not_of(" \t");
      if (p == std::string::npos || line.compare(p, 8, "#include") != 0) continue;
      size_t q1 = line.find('"', p);
      if (q1 == std::string::npos) continue;  // <system> header
      size_t q2 = line.find('"', q1 + 1);
      if (q2 == std::string::npos) continue;
      std::string inc = line.substr(q1 + 1, q2 - q1 - 1);
      const Layer* target = g.owner(inc);
      if (target == nullptr) {
        printf(
            "%s:%d: #include \"%s\" is outside every layer (sources include headers of the "
            "layers only, by their path from the root)\n",
            rel.c_str(), lineno, inc.c_str());
        ++violations;
      } else if (allowed.count(target->name) == 0) {
        printf("%s:%d: #include \"%s\": layer '%s' (%s) may not use layer '%s' (it may use: %s)\n",
               rel.c_str(), lineno, inc.c_str(), self->name.c_str(), self->path.c_str(),
               target->name.c_str(), join(allowed).c_str());
        ++violations;
      }
    }
  }
  if (violations > 0) {
    printf(
        "%d include(s) against the layer graph (sipsd_layer() in CMakeLists.txt, drawn in "
        "docs/ARCHITECTURE.md)\n",
        violations);
    return 1;
  }
  printf("%zu files, %zu layers: every include follows the layer graph\n", files.size(),
         g.layers.size());
  return 0;
}
