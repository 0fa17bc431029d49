"""Offline checks of the Bicep templates (the Bicep CLI and Azure are not reachable from CI).

`tree-sitter-bicep` parses each file; the checks walk the tree:

- syntax: no ERROR or MISSING node;
- symbols: every identifier is declared (params, vars, resources, modules, loop and lambda
  variables, functions), every function is a Bicep built-in (or `az.`/`sys.` one), every local
  module file exists, a module gets only the params it declares and every one it requires, and
  `module.outputs.X` names an output the module declares;
- types: every resource `type@apiVersion` and every property name written is in the vendored
  bicep-types key trees (`vendor/bicep-types.json`).

It also extracts what the deployment cross-checks need: the app settings object, the queue and
table names declared, and the role assignments, with a small evaluator that follows literals,
variables and module parameters (nothing else is evaluated: `bicep build` remains the final proof).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import tree_sitter_bicep
from tree_sitter import Language, Node, Parser

VENDOR = Path(__file__).resolve().parent / "vendor"

# Bicep's built-in functions (learn.microsoft.com, "Bicep functions"), callable bare or as `sys.X`.
BUILTIN_FUNCTIONS = frozenset(
    [
        "any",
        "array",
        "base64",
        "base64ToJson",
        "base64ToString",
        "bool",
        "buildUri",
        "cidrHost",
        "cidrSubnet",
        "coalesce",
        "concat",
        "contains",
        "dataUri",
        "dataUriToString",
        "dateTimeAdd",
        "dateTimeFromEpoch",
        "dateTimeToEpoch",
        "deployer",
        "deployment",
        "empty",
        "endsWith",
        "environment",
        "extensionResourceId",
        "filter",
        "first",
        "flatten",
        "format",
        "groupBy",
        "guid",
        "indexOf",
        "int",
        "intersection",
        "items",
        "join",
        "json",
        "last",
        "lastIndexOf",
        "length",
        "loadFileAsBase64",
        "loadJsonContent",
        "loadTextContent",
        "loadYamlContent",
        "managementGroup",
        "managementGroupResourceId",
        "map",
        "mapValues",
        "max",
        "min",
        "newGuid",
        "objectKeys",
        "padLeft",
        "parseCidr",
        "parseUri",
        "pickZones",
        "range",
        "reduce",
        "reference",
        "replace",
        "resourceGroup",
        "resourceId",
        "shallowMerge",
        "skip",
        "sort",
        "split",
        "startsWith",
        "string",
        "subscription",
        "subscriptionResourceId",
        "substring",
        "take",
        "tenant",
        "tenantResourceId",
        "toLower",
        "toObject",
        "toUpper",
        "trim",
        "tryGet",
        "union",
        "uniqueString",
        "uri",
        "uriComponent",
        "uriComponentToString",
        "utcNow",
    ]
)
# Functions of the `az` namespace (the deployment's scope and ids), callable bare or as `az.X`.
AZ_FUNCTIONS = frozenset(
    [
        "deployment",
        "environment",
        "extensionResourceId",
        "managementGroup",
        "managementGroupResourceId",
        "pickZones",
        "providers",
        "reference",
        "resourceGroup",
        "resourceId",
        "subscription",
        "subscriptionResourceId",
        "tenant",
        "tenantResourceId",
        "toLogicalZone",
        "toPhysicalZone",
    ]
)
DECORATORS = frozenset(
    [
        "allowed",
        "batchSize",
        "description",
        "discriminator",
        "export",
        "maxLength",
        "maxValue",
        "metadata",
        "minLength",
        "minValue",
        "onlyIfNotExists",
        "sealed",
        "secure",
    ]
)
# `list*` resource functions (listKeys, listSecrets, ...) exist for many resource types.
_LIST_FUNCTION = re.compile(r"^list[A-Z]\w*$")
# Properties of a resource body that Bicep itself defines (not in the ARM type).
RESOURCE_KEYWORDS = frozenset({"scope", "parent", "dependsOn"})
MODULE_KEYWORDS = frozenset({"name", "scope", "params", "dependsOn"})
_DECLARATIONS = {
    "parameter_declaration",
    "variable_declaration",
    "resource_declaration",
    "module_declaration",
    "output_declaration",
    "type_declaration",
    "user_defined_function",
    "import_functionality",
}
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass(frozen=True)
class Finding:
    """One problem: where, and what."""

    file: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@cache
def _parser() -> Parser:
    return Parser(Language(tree_sitter_bicep.language()))


@dataclass
class BicepFile:
    """A parsed `.bicep` file and its top-level declarations."""

    path: Path
    root: Node
    params: dict[str, Node] = field(default_factory=dict)
    param_defaults: dict[str, Node | None] = field(default_factory=dict)
    variables: dict[str, Node] = field(default_factory=dict)
    resources: dict[str, Node] = field(default_factory=dict)
    modules: dict[str, Node] = field(default_factory=dict)
    outputs: dict[str, Node] = field(default_factory=dict)
    other_symbols: set[str] = field(default_factory=set)

    def finding(self, node: Node, message: str) -> Finding:
        """A finding at `node`'s line (1-based)."""
        return Finding(self.path, node.start_point[0] + 1, message)


def text(node: Node) -> str:
    """The source text of `node`."""
    return (node.text or b"").decode("utf-8")


def _declared_name(node: Node) -> Node | None:
    named = node.child_by_field_name("name")
    if named is not None:
        return named
    return next((c for c in node.children if c.type == "identifier"), None)


def _after_equals(node: Node) -> Node | None:
    """The value of a declaration: the first named child after `=`."""
    seen = False
    for child in node.children:
        if seen and child.is_named and child.type != "comment":
            return child
        seen = seen or child.type == "="
    return None


def parse_file(path: Path) -> BicepFile:
    """Parse `path` and index its declarations."""
    tree = _parser().parse(path.read_bytes())
    parsed = BicepFile(path, tree.root_node)
    for node in tree.root_node.children:
        name_node = _declared_name(node) if node.type in _DECLARATIONS else None
        if name_node is None:
            continue
        name = text(name_node)
        if node.type == "parameter_declaration":
            parsed.params[name] = node
            parsed.param_defaults[name] = _after_equals(node)
        elif node.type == "variable_declaration":
            parsed.variables[name] = node
        elif node.type == "resource_declaration":
            parsed.resources[name] = node
        elif node.type == "module_declaration":
            parsed.modules[name] = node
        elif node.type == "output_declaration":
            parsed.outputs[name] = node
        else:
            parsed.other_symbols.add(name)
    return parsed


def walk(node: Node) -> Iterator[Node]:
    """`node` and all its descendants, depth first."""
    yield node
    for child in node.children:
        yield from walk(child)


def string_literal(node: Node) -> str | None:
    """The value of a string literal without interpolation, else None."""
    if node.type != "string":
        return None
    if any(c.type == "interpolation" for c in node.children):
        return None
    return "".join(
        text(c) for c in node.children if c.type in ("string_content", "escape_sequence")
    )


def declared_type(node: Node) -> str:
    """The `'type@apiVersion'` string of a resource or the path of a module declaration."""
    literal = next((c for c in node.children if c.type == "string"), None)
    return "" if literal is None else (string_literal(literal) or "")


@dataclass(frozen=True)
class Body:
    """The object of a resource or module declaration, and how it is repeated or conditioned."""

    obj: Node | None
    condition: Node | None
    loop_variable: str | None
    loop_source: Node | None


def declaration_body(node: Node) -> Body:
    """Unwrap `[for x in xs: if (c) {...}]`, `if (c) {...}` and `{...}`."""
    value = _after_equals(node)
    loop_variable: str | None = None
    loop_source: Node | None = None
    condition: Node | None = None
    if value is not None and value.type == "for_statement":
        initializer = value.child_by_field_name("initializer")
        if initializer is not None:
            loop_variable = text(initializer)
        for child in value.children:
            if child.type == "loop_variable":
                loop_variable = text(child)
            elif child.type == "for_loop_parameters":
                variable = next((c for c in child.children if c.type == "loop_variable"), None)
                loop_variable = None if variable is None else text(variable)
        seen_in = False
        for child in value.children:
            if seen_in and child.is_named:
                loop_source = child
                break
            seen_in = child.type == "in"
        value = value.child_by_field_name("body")
    if value is not None and value.type == "if_statement":
        condition = next((c for c in value.children if c.type == "parenthesized_expression"), None)
        value = next((c for c in value.children if c.type == "object"), None)
    obj = value if value is not None and value.type == "object" else None
    return Body(obj, condition, loop_variable, loop_source)


def object_properties(obj: Node) -> Iterator[tuple[str | None, Node, Node | None]]:
    """(key, key node, value) of each property; key None when interpolated; value None for
    a nested resource declaration (then the key node is the declaration)."""
    for prop in obj.children:
        if prop.type != "object_property":
            continue
        named = [c for c in prop.children if c.is_named and c.type != "comment"]
        if named and named[0].type == "resource_declaration":
            yield None, named[0], None
            continue
        if len(named) < 2:
            continue
        key_node, value = named[0], named[-1]
        key = text(key_node) if key_node.type == "identifier" else string_literal(key_node)
        yield key, key_node, value


def property_value(obj: Node, key: str) -> Node | None:
    """The value of property `key` of an object literal."""
    return next((v for k, _, v in object_properties(obj) if k == key), None)


# ---------------------------------------------------------------------------------- syntax


def syntax_findings(parsed: BicepFile) -> list[Finding]:
    """ERROR and MISSING nodes: the file does not parse."""
    findings: list[Finding] = []
    for node in walk(parsed.root):
        if node.type == "ERROR":
            findings.append(parsed.finding(node, f"syntax error near {text(node)[:40]!r}"))
        elif node.is_missing:
            findings.append(parsed.finding(node, f"syntax error: missing {node.type!r}"))
    return findings


# --------------------------------------------------------------------------------- symbols


def _is_reference(node: Node) -> bool:
    """Whether an `identifier` node is a use of a symbol (not a declaration or a key)."""
    parent = node.parent
    if parent is None or parent.type in ("type", "parameter"):
        return False
    if parent.type in _DECLARATIONS:
        return _declared_name(parent) != node
    if parent.type == "object_property":
        return parent.named_children[0] != node
    if parent.type == "call_expression":
        return parent.child_by_field_name("function") != node
    if parent.type == "for_statement" and parent.child_by_field_name("initializer") == node:
        return False
    if parent.type == "lambda_expression":
        arrow = next(c for c in parent.children if c.type == "=>")
        return node.start_byte > arrow.start_byte
    return True


def _lambda_parameters(node: Node) -> set[str]:
    names: set[str] = set()
    for child in node.children:
        if child.type == "=>":
            break
        names.update(text(c) for c in walk(child) if c.type == "identifier")
    return names


def symbol_findings(parsed: BicepFile) -> list[Finding]:
    """Undefined symbols, unknown functions and decorators, and local module problems."""
    declared = (
        set(parsed.params)
        | set(parsed.variables)
        | set(parsed.resources)
        | set(parsed.modules)
        | parsed.other_symbols
    )
    findings: list[Finding] = []

    def visit(node: Node, scope: frozenset[str]) -> None:
        if node.type == "for_statement":
            loop_names = {
                text(c) for c in walk(node) if c.type in ("loop_variable", "loop_enumerator")
            }
            initializer = node.child_by_field_name("initializer")
            if initializer is not None:
                loop_names.add(text(initializer))
            scope = scope | loop_names
        elif node.type == "lambda_expression":
            scope = scope | _lambda_parameters(node)
        elif node.type == "resource_declaration" and node.parent != parsed.root:
            name_node = _declared_name(node)
            if name_node is not None:
                scope = scope | {text(name_node)}
        elif node.type == "object":
            nested = {
                text(n)
                for _, decl, value in object_properties(node)
                if value is None and (n := _declared_name(decl)) is not None
            }
            scope = scope | nested
        elif node.type == "user_defined_function":
            params = node.child_by_field_name("parameters") or node
            scope = scope | {
                text(p.named_children[0]) for p in params.children if p.type == "parameter"
            }
        if node.type == "identifier" and _is_reference(node) and text(node) not in scope:
            findings.append(parsed.finding(node, f"undefined symbol {text(node)!r}"))
        if node.type == "call_expression":
            findings.extend(_function_findings(parsed, node, scope))
        for child in node.children:
            visit(child, scope)

    # `sys` and `az` are the namespaces of the built-in functions.
    visit(parsed.root, frozenset(declared | {"sys", "az"}))
    findings.extend(_module_findings(parsed))
    return findings


def _function_findings(parsed: BicepFile, call: Node, scope: frozenset[str]) -> list[Finding]:
    function = call.child_by_field_name("function")
    if function is None:
        return []
    in_decorator = call.parent is not None and call.parent.type == "decorator"
    if function.type == "identifier":
        name = text(function)
        known = DECORATORS if in_decorator else BUILTIN_FUNCTIONS | AZ_FUNCTIONS
        if name in known or name in parsed.other_symbols:
            return []
        return [parsed.finding(function, f"unknown function {name!r}")]
    if function.type == "member_expression":
        owner = function.child_by_field_name("object")
        prop = function.child_by_field_name("property")
        if owner is None or prop is None or owner.type != "identifier":
            return []
        namespace, name = text(owner), text(prop)
        if namespace == "sys" and name in BUILTIN_FUNCTIONS | DECORATORS:
            return []
        if namespace == "az" and name in AZ_FUNCTIONS:
            return []
        if namespace in ("sys", "az"):
            return [parsed.finding(prop, f"unknown function {namespace}.{name}")]
        if namespace in parsed.resources and (_LIST_FUNCTION.match(name) or name == "getSecret"):
            return []
        if namespace in scope:
            return [parsed.finding(prop, f"unknown resource function {namespace}.{name}")]
    return []


def module_file(parsed: BicepFile, module: Node) -> Path | None:
    """The local file a module declaration points at (None for registry modules)."""
    source = declared_type(module)
    if ":" in source:
        return None
    return (parsed.path.parent / source).resolve()


def _module_findings(parsed: BicepFile) -> list[Finding]:
    findings: list[Finding] = []
    for name, module in parsed.modules.items():
        source = declared_type(module)
        target = module_file(parsed, module)
        if target is None:
            findings.append(parsed.finding(module, f"module {name}: registry module {source!r}"))
            continue
        if not target.is_file():
            findings.append(parsed.finding(module, f"module {name}: no file {source!r}"))
            continue
        child = parse_file(target)
        body = declaration_body(module).obj
        if body is None:
            findings.append(parsed.finding(module, f"module {name}: body is not an object"))
            continue
        for key, key_node, _ in object_properties(body):
            if key not in MODULE_KEYWORDS:
                findings.append(parsed.finding(key_node, f"module {name}: unknown key {key!r}"))
        params = property_value(body, "params")
        given = {k for k, _, _ in object_properties(params)} if params is not None else set()
        for key in sorted(str(k) for k in given - set(child.params)):
            findings.append(parsed.finding(module, f"module {name}: {source} has no param {key}"))
        required = {p for p, default in child.param_defaults.items() if default is None}
        for key in sorted(required - given):
            findings.append(parsed.finding(module, f"module {name}: param {key} not given"))
        findings.extend(_module_output_findings(parsed, name, child))
    return findings


def _module_output_findings(parsed: BicepFile, name: str, child: BicepFile) -> list[Finding]:
    findings: list[Finding] = []
    for node in walk(parsed.root):
        if node.type != "member_expression":
            continue
        owner = node.child_by_field_name("object")
        prop = node.child_by_field_name("property")
        if owner is None or prop is None or owner.type != "member_expression":
            continue
        base = owner.child_by_field_name("object")
        middle = owner.child_by_field_name("property")
        if (
            base is not None
            and middle is not None
            and text(base) == name
            and text(middle) == "outputs"
            and text(prop) not in child.outputs
        ):
            findings.append(parsed.finding(prop, f"module {name} has no output {text(prop)!r}"))
    return findings


def secure_params(parsed: BicepFile) -> set[str]:
    """The params declared with `@secure()` (their decorators are the preceding sibling)."""
    names: set[str] = set()
    for name, node in parsed.params.items():
        decorators = node.prev_named_sibling
        while decorators is not None and decorators.type == "comment":
            decorators = decorators.prev_named_sibling
        if decorators is None or decorators.type != "decorators":
            continue
        for call in walk(decorators):
            function = (
                call.child_by_field_name("function") if call.type == "call_expression" else None
            )
            if function is not None and text(function).removeprefix("sys.") == "secure":
                names.add(name)
    return names


def secret_output_findings(parsed: BicepFile) -> list[Finding]:
    """Outputs are stored in the deployment history in clear: none may use a `@secure()` param."""
    secure = secure_params(parsed)
    findings: list[Finding] = []
    for name, output in parsed.outputs.items():
        used = {text(n) for n in walk(output) if n.type == "identifier" and _is_reference(n)}
        for param in sorted(used & secure):
            findings.append(parsed.finding(output, f"output {name} uses @secure() param {param}"))
    return findings


# ----------------------------------------------------------------------------------- types


def load_types(path: Path = VENDOR / "bicep-types.json") -> dict[str, Any]:
    """The vendored key trees: `{"type@apiVersion": tree}`; a tree maps property names to a
    subtree or None (any value); `*` is any key, `[]` an array item, `|key=value` a variant."""
    types: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return types


@dataclass(frozen=True)
class Resource:
    """A resource declaration with its full type (nested children resolved)."""

    file: BicepFile
    symbol: str
    type_name: str
    api_version: str
    node: Node
    body: Body
    existing: bool

    @property
    def key(self) -> str:
        """`type@apiVersion`."""
        return f"{self.type_name}@{self.api_version}"


def resources(parsed: BicepFile) -> list[Resource]:
    """Every resource declaration of a file, nested ones with their full type."""
    found: list[Resource] = []

    def add(node: Node, parent: Resource | None) -> None:
        declared = declared_type(node)
        type_name, _, version = declared.partition("@")
        if parent is not None and "/" not in type_name:
            type_name, version = f"{parent.type_name}/{type_name}", parent.api_version
        name_node = _declared_name(node)
        resource = Resource(
            parsed,
            "" if name_node is None else text(name_node),
            type_name,
            version,
            node,
            declaration_body(node),
            any(c.type == "existing" for c in node.children),
        )
        found.append(resource)
        if resource.body.obj is not None:
            for _, decl, value in object_properties(resource.body.obj):
                if value is None:
                    add(decl, resource)

    for node in parsed.resources.values():
        add(node, None)
    return found


def _variants(tree: dict[str, Any], obj: Node) -> dict[str, Any]:
    """Merge the `|key=value` variant of `tree` that `obj` selects (all of them if unknown)."""
    plain = {k: v for k, v in tree.items() if not k.startswith("|")}
    chosen: list[dict[str, Any]] = []
    for key, variant in tree.items():
        if not key.startswith("|"):
            continue
        name, _, value = key[1:].partition("=")
        literal = property_value(obj, name)
        if literal is None or string_literal(literal) in (None, value):
            chosen.append(variant or {})
    for variant in chosen:
        plain.update(variant)
    return plain


def _value_findings(
    parsed: BicepFile, value: Node, tree: Any, where: str, findings: list[Finding]
) -> None:
    if tree is None:
        return
    if value.type == "parenthesized_expression" and value.named_children:
        _value_findings(parsed, value.named_children[0], tree, where, findings)
    elif value.type == "ternary_expression":
        for field_name in ("consequence", "alternative"):
            branch = value.child_by_field_name(field_name)
            if branch is not None:
                _value_findings(parsed, branch, tree, where, findings)
    elif value.type == "object" and isinstance(tree, dict):
        _object_findings(parsed, value, tree, where, findings)
    elif value.type == "array" and isinstance(tree, dict) and "[]" in tree:
        for item in value.named_children:
            if item.type != "comment":
                _value_findings(parsed, item, tree["[]"], f"{where}[]", findings)


def _object_findings(
    parsed: BicepFile,
    obj: Node,
    tree: dict[str, Any],
    where: str,
    findings: list[Finding],
    extra_keys: frozenset[str] = frozenset(),
) -> None:
    tree = _variants(tree, obj)
    for key, key_node, value in object_properties(obj):
        if value is None:  # a nested resource, checked as a resource of its own
            continue
        if key in extra_keys:
            continue
        if key is not None and key in tree:
            subtree = tree[key]
        elif "*" in tree:
            subtree = tree["*"]
        else:
            shown = text(key_node) if key is None else key
            findings.append(parsed.finding(key_node, f"{where}: unknown property {shown!r}"))
            continue
        _value_findings(parsed, value, subtree, f"{where}.{key}", findings)


def type_findings(parsed: BicepFile, types: dict[str, Any]) -> list[Finding]:
    """Unknown `type@apiVersion` pairs and property names not in their key tree."""
    findings: list[Finding] = []
    for resource in resources(parsed):
        tree = types.get(resource.key)
        if tree is None:
            known = sorted(k for k in types if k.startswith(resource.type_name + "@"))
            hint = f" (known: {', '.join(known)})" if known else " (type not vendored)"
            findings.append(parsed.finding(resource.node, f"unknown {resource.key!r}{hint}"))
            continue
        if resource.body.obj is None:
            findings.append(parsed.finding(resource.node, f"{resource.symbol}: no object body"))
            continue
        allowed = RESOURCE_KEYWORDS
        if resource.existing:
            tree = {"name": None}
        _object_findings(parsed, resource.body.obj, tree, resource.symbol, findings, allowed)
    return findings


# ------------------------------------------------------------------------------ the project


@dataclass
class Project:
    """Every `.bicep` file under a folder, and which module call passes each file its params."""

    files: dict[Path, BicepFile]
    # module file -> (calling file, the `params` object of the call)
    callers: dict[Path, tuple[BicepFile, Node]]


def load_project(infra: Path) -> Project:
    """Parse every `.bicep` file under `infra`."""
    files = {p.resolve(): parse_file(p) for p in sorted(infra.rglob("*.bicep"))}
    callers: dict[Path, tuple[BicepFile, Node]] = {}
    for parsed in files.values():
        for module in parsed.modules.values():
            target = module_file(parsed, module)
            body = declaration_body(module).obj
            params = None if body is None else property_value(body, "params")
            if target is not None and params is not None:
                callers[target] = (parsed, params)
    return Project(files, callers)


def check_project(infra: Path, types: dict[str, Any]) -> list[Finding]:
    """Every finding of every check, over every `.bicep` file under `infra`."""
    project = load_project(infra)
    findings: list[Finding] = []
    for parsed in project.files.values():
        syntax = syntax_findings(parsed)
        findings.extend(syntax)
        if syntax:
            continue
        findings.extend(symbol_findings(parsed))
        findings.extend(secret_output_findings(parsed))
        findings.extend(type_findings(parsed, types))
    return findings


class UnresolvedError(Exception):
    """An expression the small evaluator cannot follow."""


# The integer functions `evaluate` follows (Bicep's max and min of integers).
_INT_FUNCTIONS: dict[str, Callable[[list[int]], int]] = {
    "max": lambda values: max(values),
    "min": lambda values: min(values),
}


def evaluate(project: Project, parsed: BicepFile, node: Node) -> Any:
    """The value of a literal, or of a variable, param or module param that leads to one
    (through `string()`, integer `+`, `max()` and `min()`)."""
    if node.type == "string":
        parts: list[str] = []
        for child in node.children:
            if child.type in ("string_content", "escape_sequence"):
                parts.append(text(child))
            elif child.type == "interpolation":
                inner = [c for c in child.named_children if c.type != "comment"]
                parts.append(str(evaluate(project, parsed, inner[0])))
        return "".join(parts)
    if node.type == "number":
        return int(text(node))
    if node.type == "boolean":
        return text(node) == "true"
    if node.type == "call_expression":
        function = node.child_by_field_name("function")
        arguments = node.child_by_field_name("arguments")
        args = [] if arguments is None else [c for c in arguments.named_children]
        if function is not None and text(function) == "string" and len(args) == 1:
            return str(evaluate(project, parsed, args[0]))
        if function is not None and text(function) in _INT_FUNCTIONS and args:
            values = [evaluate(project, parsed, a) for a in args]
            if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
                return _INT_FUNCTIONS[text(function)](values)
    if node.type == "binary_expression":
        left = node.child_by_field_name("left")
        operator = node.child_by_field_name("operator")
        right = node.child_by_field_name("right")
        if (
            left is not None
            and right is not None
            and operator is not None
            and text(operator) == "+"
        ):
            a, b = evaluate(project, parsed, left), evaluate(project, parsed, right)
            if isinstance(a, int) and isinstance(b, int):
                return a + b
    if node.type == "array":
        return [evaluate(project, parsed, c) for c in node.named_children if c.type != "comment"]
    if node.type == "object":
        return {
            key: evaluate(project, parsed, value)
            for key, _, value in object_properties(node)
            if key is not None and value is not None
        }
    if node.type == "member_expression":
        owner = node.child_by_field_name("object")
        prop = node.child_by_field_name("property")
        if owner is not None and prop is not None:
            value = evaluate(project, parsed, owner)
            if isinstance(value, dict) and text(prop) in value:
                return value[text(prop)]
    if node.type == "identifier":
        name = text(node)
        if name in parsed.variables:
            value_node = _after_equals(parsed.variables[name])
            if value_node is not None:
                return evaluate(project, parsed, value_node)
        if name in parsed.params:
            caller = project.callers.get(parsed.path.resolve())
            given = None if caller is None else property_value(caller[1], name)
            if caller is not None and given is not None:
                return evaluate(project, caller[0], given)
            default = parsed.param_defaults.get(name)
            if default is not None:
                return evaluate(project, parsed, default)
    raise UnresolvedError(f"{parsed.path.name}:{node.start_point[0] + 1}: {text(node)[:60]!r}")


def project_resources(project: Project, type_name: str) -> list[Resource]:
    """Every resource of `type_name` (case-insensitive) in the project."""
    return [
        r
        for parsed in project.files.values()
        for r in resources(parsed)
        if r.type_name.lower() == type_name.lower()
    ]


def declared_names(project: Project, type_name: str) -> set[str]:
    """The names of the resources of `type_name`, loops expanded."""
    names: set[str] = set()
    for resource in project_resources(project, type_name):
        body = resource.body
        name_node = None if body.obj is None else property_value(body.obj, "name")
        if name_node is None:
            continue
        if body.loop_variable is not None and text(name_node) == body.loop_variable:
            if body.loop_source is None:
                raise UnresolvedError(f"{resource.symbol}: loop without a source")
            names.update(evaluate(project, resource.file, body.loop_source))
        else:
            names.add(str(evaluate(project, resource.file, name_node)))
    return names


@dataclass(frozen=True)
class AppSettings:
    """The one `Microsoft.Web/sites/config` `appsettings` resource's properties."""

    file: BicepFile
    values: dict[str, Node]


def app_settings(project: Project) -> AppSettings:
    """The app settings object; exactly one `appsettings` resource, an object literal."""
    found = [
        r
        for r in project_resources(project, "Microsoft.Web/sites/config")
        if r.body.obj is not None
        and (name := property_value(r.body.obj, "name")) is not None
        and string_literal(name) == "appsettings"
    ]
    if len(found) != 1:
        raise ValueError(f"expected one appsettings resource, found {len(found)}")
    resource = found[0]
    assert resource.body.obj is not None
    properties = property_value(resource.body.obj, "properties")
    if properties is None or properties.type != "object":
        raise ValueError("the appsettings properties must be one object literal")
    values: dict[str, Node] = {}
    for key, key_node, value in object_properties(properties):
        if key is None or value is None:
            raise ValueError(f"setting name must be a literal: {text(key_node)!r}")
        values[key] = value
    return AppSettings(resource.file, values)


KEY_VAULT_REFERENCE = "@Microsoft.KeyVault("


def is_key_vault_reference(node: Node) -> bool:
    """A string starting with `@Microsoft.KeyVault(`, or a conditional whose branches are each
    one or the empty string (an optional secret)."""
    if node.type == "parenthesized_expression" and node.named_children:
        return is_key_vault_reference(node.named_children[0])
    if node.type == "ternary_expression":
        branches = [node.child_by_field_name(f) for f in ("consequence", "alternative")]
        return all(
            b is not None and (string_literal(b) == "" or is_key_vault_reference(b))
            for b in branches
        ) and any(b is not None and is_key_vault_reference(b) for b in branches)
    if node.type != "string":
        return False
    first = next((c for c in node.children if c.type == "string_content"), None)
    return first is not None and text(first).startswith(KEY_VAULT_REFERENCE)


@dataclass(frozen=True)
class RoleAssignment:
    """A role assignment: which role ids, on what type of resource, always or conditionally."""

    file: Path
    symbol: str
    role_ids: frozenset[str]
    scope_type: str
    conditional: bool


def _guids(project: Project, parsed: BicepFile, node: Node, loop: Body) -> set[str]:
    found: set[str] = set()
    for part in walk(node):
        if part.type not in ("string", "identifier", "member_expression"):
            continue
        try:
            if (
                part.type == "identifier"
                and loop.loop_variable == text(part)
                and loop.loop_source is not None
            ):
                value: Any = evaluate(project, parsed, loop.loop_source)
            else:
                value = evaluate(project, parsed, part)
        except UnresolvedError:
            continue
        values = value if isinstance(value, list) else [value]
        found.update(v for v in values if isinstance(v, str) and _GUID.match(v))
    return found


def role_assignments(project: Project) -> list[RoleAssignment]:
    """Every `Microsoft.Authorization/roleAssignments` with its role ids and scope's type."""
    assignments: list[RoleAssignment] = []
    for resource in project_resources(project, "Microsoft.Authorization/roleAssignments"):
        obj = resource.body.obj
        if obj is None:
            continue
        properties = property_value(obj, "properties")
        role = None if properties is None else property_value(properties, "roleDefinitionId")
        role_ids = set() if role is None else _guids(project, resource.file, role, resource.body)
        scope = property_value(obj, "scope")
        scope_type = ""
        if scope is not None and text(scope) in resource.file.resources:
            scope_type = declared_type(resource.file.resources[text(scope)]).partition("@")[0]
        assignments.append(
            RoleAssignment(
                resource.file.path,
                resource.symbol,
                frozenset(role_ids),
                scope_type,
                resource.body.condition is not None,
            )
        )
    return assignments
