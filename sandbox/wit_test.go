package sandbox

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/hearthbot/hearth/sandbox/caps"
	"github.com/tetratelabs/wazero/api"
)

// witFunc is a function of a WIT interface or world.
type witFunc struct {
	name   string
	params []string
}

// witDoc is what the agreement check needs from a WIT file.
type witDoc struct {
	interfaces   map[string][]witFunc
	worldImports map[string][]string // world -> imported interfaces
	worldExports map[string][]witFunc
}

// parseWIT reads interfaces, worlds, their functions (with parameter
// names) and world imports/exports. Type definitions are skipped.
func parseWIT(src string) (*witDoc, error) {
	toks := tokenizeWIT(src)
	doc := &witDoc{interfaces: map[string][]witFunc{}, worldImports: map[string][]string{}, worldExports: map[string][]witFunc{}}
	p := &witParser{toks: toks}
	for !p.done() {
		switch t := p.next(); t {
		case "package":
			p.skipPast(";")
		case "interface":
			name := p.next()
			if err := p.expect("{"); err != nil {
				return nil, err
			}
			fns, err := p.items(name, doc, false)
			if err != nil {
				return nil, err
			}
			doc.interfaces[name] = fns
		case "world":
			name := p.next()
			if err := p.expect("{"); err != nil {
				return nil, err
			}
			if _, err := p.items(name, doc, true); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("wit: unexpected %q at top level", t)
		}
	}
	return doc, nil
}

func tokenizeWIT(src string) []string {
	var toks []string
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case strings.HasPrefix(src[i:], "//"):
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case strings.HasPrefix(src[i:], "/*"):
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return toks
			}
			i += end + 4
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case strings.HasPrefix(src[i:], "->"):
			toks = append(toks, "->")
			i += 2
		case strings.ContainsRune("{}()<>:;,=@./", rune(c)):
			toks = append(toks, string(c))
			i++
		default:
			j := i
			for j < len(src) && (src[j] == '-' || src[j] == '_' || src[j] == '%' || ('a' <= src[j] && src[j] <= 'z') ||
				('A' <= src[j] && src[j] <= 'Z') || ('0' <= src[j] && src[j] <= '9')) {
				j++
			}
			if j == i {
				j = i + 1
			}
			toks = append(toks, src[i:j])
			i = j
		}
	}
	return toks
}

type witParser struct {
	toks []string
	pos  int
}

func (p *witParser) done() bool { return p.pos >= len(p.toks) }

func (p *witParser) next() string {
	if p.done() {
		return ""
	}
	t := p.toks[p.pos]
	p.pos++
	return t
}

func (p *witParser) peek() string {
	if p.done() {
		return ""
	}
	return p.toks[p.pos]
}

func (p *witParser) expect(t string) error {
	if got := p.next(); got != t {
		return fmt.Errorf("wit: want %q, got %q", t, got)
	}
	return nil
}

func (p *witParser) skipPast(t string) {
	for !p.done() && p.next() != t {
	}
}

// skipBalanced skips from an opening brace to its match.
func (p *witParser) skipBalanced() {
	depth := 0
	for !p.done() {
		switch p.next() {
		case "{":
			depth++
		case "}":
			depth--
			if depth == 0 {
				return
			}
		}
	}
}

// fn parses "func(a: t, b: t) -> r;" after "name:".
func (p *witParser) fn(name string) (witFunc, error) {
	if err := p.expect("func"); err != nil {
		return witFunc{}, err
	}
	if err := p.expect("("); err != nil {
		return witFunc{}, err
	}
	f := witFunc{name: name}
	depth := 1
	expectName := true
	for depth > 0 && !p.done() {
		t := p.next()
		switch t {
		case "(", "<":
			depth++
		case ")", ">":
			depth--
		case ",":
			if depth == 1 {
				expectName = true
			}
		default:
			if expectName && depth == 1 && p.peek() == ":" {
				f.params = append(f.params, t)
				expectName = false
			}
		}
	}
	p.skipPast(";")
	return f, nil
}

// items parses the body of an interface or world up to its closing brace.
func (p *witParser) items(owner string, doc *witDoc, world bool) ([]witFunc, error) {
	var fns []witFunc
	for !p.done() {
		t := p.next()
		switch t {
		case "}":
			return fns, nil
		case "record", "enum", "variant", "flags", "resource":
			p.next() // name
			p.pos--
			for p.peek() != "{" && !p.done() {
				p.next()
			}
			p.skipBalanced()
		case "type", "use", "include":
			p.skipPast(";")
		case "import", "export":
			if !world {
				return nil, fmt.Errorf("wit: %s inside interface %s", t, owner)
			}
			name := p.next()
			if p.peek() == ";" {
				p.next()
				if t == "import" {
					doc.worldImports[owner] = append(doc.worldImports[owner], name)
				}
				continue
			}
			if err := p.expect(":"); err != nil {
				return nil, err
			}
			f, err := p.fn(name)
			if err != nil {
				return nil, err
			}
			if t == "export" {
				doc.worldExports[owner] = append(doc.worldExports[owner], f)
			}
		default:
			if err := p.expect(":"); err != nil {
				return nil, fmt.Errorf("wit: in %s after %q: %w", owner, t, err)
			}
			f, err := p.fn(t)
			if err != nil {
				return nil, err
			}
			fns = append(fns, f)
		}
	}
	return nil, fmt.Errorf("wit: %s is not closed", owner)
}

// sdkDecl is a //go:wasmimport or //go:wasmexport function of the SDK.
type sdkDecl struct {
	module, name    string
	params, results []api.ValueType
}

// parseSDK reads the guest SDK's wasm directives and Go signatures.
func parseSDK(dir string) (imports, exports map[string]sdkDecl, err error) {
	fset := token.NewFileSet()
	imports, exports = map[string]sdkDecl{}, map[string]sdkDecl{}
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, nil, err
	}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return nil, nil, err
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Doc == nil {
				continue
			}
			for _, c := range fd.Doc.List {
				fields := strings.Fields(c.Text)
				if len(fields) == 0 {
					continue
				}
				decl := sdkDecl{params: goTypes(fd.Type.Params), results: goTypes(fd.Type.Results)}
				switch {
				case fields[0] == "//go:wasmimport" && len(fields) == 3:
					decl.module, decl.name = fields[1], fields[2]
					imports[decl.name] = decl
				case fields[0] == "//go:wasmexport" && len(fields) == 2:
					decl.name = fields[1]
					exports[decl.name] = decl
				}
			}
		}
	}
	return imports, exports, nil
}

// goTypes maps Go parameter types to wasm types as the compiler does.
func goTypes(fl *ast.FieldList) []api.ValueType {
	if fl == nil {
		return nil
	}
	var out []api.ValueType
	for _, field := range fl.List {
		var vt api.ValueType
		switch t := fmt.Sprint(field.Type); {
		case t == "int64" || t == "uint64":
			vt = i64
		case t == "float32":
			vt = api.ValueTypeF32
		case t == "float64":
			vt = api.ValueTypeF64
		default: // int32, uint32, bool, unsafe.Pointer, pointers
			vt = i32
		}
		n := max(len(field.Names), 1)
		for i := 0; i < n; i++ {
			out = append(out, vt)
		}
	}
	return out
}

func snake(s string) string { return strings.ReplaceAll(s, "-", "_") }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// checkAgreement compares the WIT world, the host's imports and the
// SDK's declarations and returns every disagreement.
func checkAgreement(wit *witDoc, host map[string]signature, sdkImports, sdkExports map[string]sdkDecl) []string {
	var problems []string
	hostFns, ok := wit.interfaces["host"]
	if !ok {
		return []string{"tool.wit has no interface host"}
	}
	if !slices.Contains(wit.worldImports["tool"], "host") {
		problems = append(problems, "world tool does not import host")
	}
	// WIT host functions <-> registered host imports.
	want := map[string]bool{}
	for _, f := range hostFns {
		want[snake(f.name)] = true
	}
	for _, n := range ABIOnlyImports() {
		want[n] = true
	}
	for _, n := range sortedKeys(want) {
		if _, ok := host[n]; !ok {
			problems = append(problems, fmt.Sprintf("tool.wit declares %s but the host registers no %q import", n, n))
		}
	}
	for _, n := range sortedKeys(host) {
		if !want[n] {
			problems = append(problems, fmt.Sprintf("the host registers %q, which tool.wit does not declare", n))
		}
	}
	// Host imports <-> SDK wasmimports, names and types.
	for _, n := range sortedKeys(host) {
		d, ok := sdkImports[n]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("the guest SDK does not import %q", n))
		case d.module != HostModule:
			problems = append(problems, fmt.Sprintf("the guest SDK imports %q from %q, not %q", n, d.module, HostModule))
		case !sameTypes(d.params, host[n].params) || !sameTypes(d.results, host[n].results):
			problems = append(problems, fmt.Sprintf("%q: the SDK declares %s, the host %s", n, typeString(d.params, d.results), typeString(host[n].params, host[n].results)))
		}
	}
	for _, n := range sortedKeys(sdkImports) {
		if _, ok := host[n]; !ok {
			problems = append(problems, fmt.Sprintf("the guest SDK imports %q, which the host does not provide", n))
		}
	}
	// WIT world exports <-> SDK wasmexports <-> what the host requires.
	wantExports := map[string]bool{ExportAlloc: true}
	for _, f := range wit.worldExports["tool"] {
		wantExports[snake(f.name)] = true
	}
	for _, n := range sortedKeys(wantExports) {
		if _, ok := guestExports[n]; !ok {
			problems = append(problems, fmt.Sprintf("tool.wit exports %s but the host does not require it", n))
		}
		d, ok := sdkExports[n]
		if !ok {
			problems = append(problems, fmt.Sprintf("the guest SDK does not export %q", n))
			continue
		}
		if sig := guestExports[n]; !sameTypes(d.params, sig.params) || !sameTypes(d.results, sig.results) {
			problems = append(problems, fmt.Sprintf("export %q: the SDK declares %s, the host requires %s", n, typeString(d.params, d.results), typeString(sig.params, sig.results)))
		}
	}
	for _, n := range sortedKeys(guestExports) {
		if !wantExports[n] {
			problems = append(problems, fmt.Sprintf("the host requires export %q, which tool.wit does not declare", n))
		}
	}
	for _, n := range sortedKeys(sdkExports) {
		if !wantExports[n] && !slices.Contains(ABIOnlyExports(), n) {
			problems = append(problems, fmt.Sprintf("the guest SDK exports %q, which neither tool.wit nor the ABI declares", n))
		}
	}
	return problems
}

func readAgreementInputs(t *testing.T) (*witDoc, string, map[string]sdkDecl, map[string]sdkDecl) {
	t.Helper()
	src, err := os.ReadFile("../wit/tool.wit")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := parseWIT(string(src))
	if err != nil {
		t.Fatal(err)
	}
	imps, exps, err := parseSDK("guest")
	if err != nil {
		t.Fatal(err)
	}
	return doc, string(src), imps, exps
}

// TestWITHostAndSDKAgree is the guard that keeps wit/tool.wit, the host
// imports and the guest SDK from drifting apart.
func TestWITHostAndSDKAgree(t *testing.T) {
	doc, _, imps, exps := readAgreementInputs(t)
	if problems := checkAgreement(doc, hostImports, imps, exps); len(problems) > 0 {
		t.Fatalf("wit/tool.wit, the host and the guest SDK disagree:\n%s", strings.Join(problems, "\n"))
	}
	// What the host actually registers in wazero is hostImports.
	r, err := New(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	wz, err := r.wazeroRuntime(context.Background(), 16)
	if err != nil {
		t.Fatal(err)
	}
	defer wz.Close(context.Background())
	registered := map[string]signature{}
	for name, def := range wz.Module(HostModule).ExportedFunctionDefinitions() {
		registered[name] = signature{def.ParamTypes(), def.ResultTypes()}
	}
	if !reflect.DeepEqual(sortedKeys(registered), sortedKeys(hostImports)) {
		t.Fatalf("registered %v, declared %v", sortedKeys(registered), sortedKeys(hostImports))
	}
	for n, sig := range registered {
		if !sameTypes(sig.params, hostImports[n].params) || !sameTypes(sig.results, hostImports[n].results) {
			t.Errorf("%s registered as %s", n, typeString(sig.params, sig.results))
		}
	}
	if got := len(wz.Module(WASIModule).ExportedFunctionDefinitions()); got != len(wasiSignatures) || got != 46 {
		t.Errorf("WASI module has %d functions, want all 46 of preview 1", got)
	}
	// Parameter names of the WIT exports that carry data.
	for _, f := range doc.worldExports["tool"] {
		if f.name == "execute" && !slices.Equal(f.params, []string{"params", "context"}) {
			t.Errorf("execute params %v", f.params)
		}
	}
}

// TestAgreementCheckCatchesDrift proves the guard can fail.
func TestAgreementCheckCatchesDrift(t *testing.T) {
	_, src, imps, exps := readAgreementInputs(t)
	extra, err := parseWIT(strings.Replace(src, "interface host {", "interface host {\n    reboot-host: func();", 1))
	if err != nil {
		t.Fatal(err)
	}
	if p := checkAgreement(extra, hostImports, imps, exps); len(p) == 0 || !strings.Contains(strings.Join(p, "\n"), "reboot_host") {
		t.Fatalf("a WIT function the host lacks went unnoticed: %v", p)
	}
	doc, _ := parseWIT(src)
	lessSDK := map[string]sdkDecl{}
	for k, v := range imps {
		if k != ImportToolInvoke {
			lessSDK[k] = v
		}
	}
	if p := checkAgreement(doc, hostImports, lessSDK, exps); len(p) == 0 {
		t.Fatal("an SDK missing an import went unnoticed")
	}
	wrongType := map[string]sdkDecl{}
	for k, v := range imps {
		wrongType[k] = v
	}
	d := wrongType[ImportNowMillis]
	d.results = []api.ValueType{i32}
	wrongType[ImportNowMillis] = d
	if p := checkAgreement(doc, hostImports, wrongType, exps); len(p) == 0 {
		t.Fatal("a type mismatch went unnoticed")
	}
	noExport, err := parseWIT(strings.Replace(src, "export schema: func() -> string;", "", 1))
	if err != nil {
		t.Fatal(err)
	}
	if p := checkAgreement(noExport, hostImports, imps, exps); len(p) == 0 {
		t.Fatal("a WIT export removal went unnoticed")
	}
}

// TestREADMEDocumentsTheABI checks that wit/README.md names every import,
// export and capabilities field.
func TestREADMEDocumentsTheABI(t *testing.T) {
	raw, err := os.ReadFile("../wit/README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	var names []string
	names = append(names, sortedKeys(hostImports)...)
	names = append(names, sortedKeys(guestExports)...)
	names = append(names, ExportInitialize, ExportPrepare, ExportMemory)
	for _, n := range names {
		if !strings.Contains(readme, "`"+n+"`") {
			t.Errorf("README does not document `%s`", n)
		}
	}
	for _, field := range jsonFields(reflect.TypeOf(caps.Capabilities{})) {
		if !strings.Contains(readme, field) {
			t.Errorf("README does not document the capabilities field %q", field)
		}
	}
}

// jsonFields lists the JSON names of a struct's fields, recursively.
func jsonFields(t reflect.Type) []string {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		out = append(out, name)
		out = append(out, jsonFields(f.Type)...)
	}
	return out
}
