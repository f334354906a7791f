/**
 * test/helpers/cfn-spec: checks a CloudFormation template against AWS's published resource
 * schemas, as the npm package @aws-cdk/aws-service-spec ships them (db.json.gz, loaded with its
 * loadAwsServiceSpecSync into a @aws-cdk/service-spec-types SpecDatabase): every resource type,
 * every property name and value type, recursively through the nested property types (a `ref` to
 * a TypeDefinition, arrays, maps, unions), required properties, allowed values; and the template's
 * own wiring: Ref / Fn::Sub / Fn::GetAtt name existing parameters, pseudo parameters, resources and
 * attributes, Fn::If and Condition name existing conditions, a conditional resource is referenced
 * only where its condition holds, parameter defaults satisfy their constraints. IAM policy
 * documents (type json) get a structural check of their own.
 */
import { loadAwsServiceSpecSync } from '@aws-cdk/aws-service-spec';
import type { PropertyType, Resource, ResourceProperties, TypeDefinition } from '@aws-cdk/service-spec-types';

type SpecDb = ReturnType<typeof loadAwsServiceSpecSync>;
let cached: SpecDb | undefined;

/** specDb loads the schema database once per process (about a second). */
export function specDb(): SpecDb {
  cached ??= loadAwsServiceSpecSync();
  return cached;
}

const PSEUDO = new Set(['AWS::AccountId', 'AWS::NotificationARNs', 'AWS::NoValue', 'AWS::Partition', 'AWS::Region', 'AWS::StackId', 'AWS::StackName', 'AWS::URLSuffix']);
const TOP_LEVEL = new Set(['AWSTemplateFormatVersion', 'Description', 'Metadata', 'Parameters', 'Rules', 'Mappings', 'Conditions', 'Transform', 'Resources', 'Outputs']);
const RESOURCE_KEYS = new Set(['Type', 'Properties', 'Condition', 'DependsOn', 'DeletionPolicy', 'UpdateReplacePolicy', 'Metadata']);
const PARAMETER_KEYS = new Set(['Type', 'Description', 'Default', 'AllowedValues', 'AllowedPattern', 'ConstraintDescription', 'MinValue', 'MaxValue', 'MinLength', 'MaxLength', 'NoEcho']);
const POLICIES = new Set(['Delete', 'Retain', 'RetainExceptOnCreate', 'Snapshot']);

type Json = unknown;
const isObject = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** intrinsicName is the function name of a one-key intrinsic object, else undefined. */
function intrinsicName(v: Json): string | undefined {
  if (!isObject(v)) return undefined;
  const keys = Object.keys(v);
  return keys.length === 1 && keys[0] !== undefined && (keys[0] === 'Ref' || keys[0].startsWith('Fn::')) ? keys[0] : undefined;
}

/** Scope is where a value sits: the conditions known to hold there (the resource's, Fn::If branches). */
interface Scope {
  path: string;
  holds: ReadonlySet<string>;
}

class Checker {
  readonly problems: string[] = [];
  private readonly params: Record<string, Json>;
  private readonly conditions: Record<string, Json>;
  private readonly resources: Record<string, Json>;

  constructor(
    private readonly db: SpecDb,
    private readonly t: Record<string, Json>,
  ) {
    this.params = isObject(t['Parameters']) ? t['Parameters'] : {};
    this.conditions = isObject(t['Conditions']) ? t['Conditions'] : {};
    this.resources = isObject(t['Resources']) ? t['Resources'] : {};
  }

  private fail(path: string, message: string): void {
    this.problems.push(`${path}: ${message}`);
  }

  resourceSpec(type: string): Resource | undefined {
    return this.db.lookup('resource', 'cloudFormationType', 'equals', type)[0];
  }

  /** conditionOf is the Condition of a resource (undefined: unconditional). */
  private conditionOf(resource: string): string | undefined {
    const r = this.resources[resource];
    return isObject(r) && typeof r['Condition'] === 'string' ? r['Condition'] : undefined;
  }

  /** checkName checks a name given to Ref / Fn::Sub: a parameter, a pseudo parameter or a resource (holding where it is used). */
  private checkName(name: string, scope: Scope, allowResources: boolean): void {
    if (PSEUDO.has(name) || name in this.params) return;
    if (allowResources && name in this.resources) {
      const c = this.conditionOf(name);
      if (c !== undefined && !scope.holds.has(c)) this.fail(scope.path, `refers to ${name}, which exists only when ${c} holds, where ${c} is not known to hold`);
      return;
    }
    this.fail(scope.path, `names ${JSON.stringify(name)}, which is no parameter${allowResources ? ', pseudo parameter or resource' : ' or pseudo parameter'}`);
  }

  private checkGetAtt(resource: string, attribute: string, scope: Scope): void {
    const r = this.resources[resource];
    if (!isObject(r)) return this.fail(scope.path, `Fn::GetAtt names no resource ${JSON.stringify(resource)}`);
    this.checkName(resource, scope, true);
    const spec = typeof r['Type'] === 'string' ? this.resourceSpec(r['Type']) : undefined;
    if (spec !== undefined && !(attribute in spec.attributes)) this.fail(scope.path, `Fn::GetAtt: ${r['Type'] as string} has no attribute ${JSON.stringify(attribute)} (has ${Object.keys(spec.attributes).join(', ')})`);
  }

  private checkCondition(name: Json, scope: Scope): void {
    if (typeof name !== 'string' || !(name in this.conditions)) this.fail(scope.path, `names no condition: ${JSON.stringify(name)}`);
  }

  /**
   * intrinsic checks an intrinsic function's form and names; returns the value kinds it can stand
   * for ('string', 'number', 'list', 'boolean', 'novalue') or, for Fn::If, undefined (its branches
   * are checked by the caller against the expected type).
   */
  intrinsic(fn: string, arg: Json, scope: Scope, inCondition = false): Set<string> | undefined {
    const at = { ...scope, path: `${scope.path}.${fn}` };
    switch (fn) {
      case 'Ref': {
        if (typeof arg !== 'string') {
          this.fail(at.path, 'takes a name');
          return new Set();
        }
        this.checkName(arg, at, !inCondition);
        if (arg === 'AWS::NoValue') return new Set(['novalue']);
        const p = this.params[arg];
        if (isObject(p)) return new Set([p['Type'] === 'Number' ? 'number' : String(p['Type']).startsWith('List<') || p['Type'] === 'CommaDelimitedList' ? 'list' : 'string']);
        return new Set(['string']);
      }
      case 'Fn::Sub': {
        if (typeof arg !== 'string') {
          this.fail(at.path, 'takes a string (the variable-map form is not used here)');
          return new Set(['string']);
        }
        for (const m of arg.matchAll(/\$\{([^}!]*)\}/g)) {
          const v = m[1] ?? '';
          const dot = v.indexOf('.');
          if (dot > 0 && !v.startsWith('AWS::')) this.checkGetAtt(v.slice(0, dot), v.slice(dot + 1), at);
          else this.checkName(v, at, true);
        }
        if (/\$\{[^}]*$/.test(arg)) this.fail(at.path, 'has an unclosed ${');
        return new Set(['string']);
      }
      case 'Fn::GetAtt': {
        if (!Array.isArray(arg) || arg.length !== 2 || typeof arg[0] !== 'string' || typeof arg[1] !== 'string') this.fail(at.path, 'takes [resource, attribute]');
        else this.checkGetAtt(arg[0], arg[1], at);
        return new Set(['string']);
      }
      case 'Fn::Equals': {
        if (!Array.isArray(arg) || arg.length !== 2) this.fail(at.path, 'takes two values');
        else arg.forEach((a, i) => this.conditionValue(a, { ...at, path: `${at.path}[${i}]` }, true));
        return new Set(['boolean']);
      }
      case 'Fn::Not':
      case 'Fn::And':
      case 'Fn::Or': {
        const n = Array.isArray(arg) ? arg.length : -1;
        if (!Array.isArray(arg) || (fn === 'Fn::Not' ? n !== 1 : n < 2 || n > 10)) this.fail(at.path, fn === 'Fn::Not' ? 'takes one condition' : 'takes 2 to 10 conditions');
        else arg.forEach((a, i) => this.conditionFunction(a, { ...at, path: `${at.path}[${i}]` }));
        return new Set(['boolean']);
      }
      case 'Fn::If':
        if (!Array.isArray(arg) || arg.length !== 3) this.fail(at.path, 'takes [condition, value if true, value if false]');
        else this.checkCondition(arg[0], at);
        return undefined;
      default:
        this.fail(at.path, `intrinsic function ${fn} is not checked by this validator: extend it before using ${fn}`);
        return new Set();
    }
  }

  /** conditionFunction checks a condition: a condition function or {Condition: name}. */
  conditionFunction(v: Json, scope: Scope): void {
    if (isObject(v) && Object.keys(v).length === 1 && 'Condition' in v) return this.checkCondition(v['Condition'], scope);
    const fn = intrinsicName(v);
    if (fn === undefined || !['Fn::Equals', 'Fn::Not', 'Fn::And', 'Fn::Or'].includes(fn)) return this.fail(scope.path, 'is no condition function');
    this.intrinsic(fn, (v as Record<string, Json>)[fn], scope, true);
  }

  /** conditionValue checks an operand of Fn::Equals: a literal, or Ref to a parameter / pseudo parameter. */
  private conditionValue(v: Json, scope: Scope, inCondition: boolean): void {
    const fn = intrinsicName(v);
    if (fn !== undefined) this.intrinsic(fn, (v as Record<string, Json>)[fn], scope, inCondition);
    else if (typeof v !== 'string' && typeof v !== 'number') this.fail(scope.path, 'compares no scalar');
  }

  /** value checks `v` against a schema type. */
  value(v: Json, type: PropertyType, scope: Scope): void {
    const fn = intrinsicName(v);
    if (fn !== undefined) {
      const arg = (v as Record<string, Json>)[fn];
      const kinds = this.intrinsic(fn, arg, scope);
      if (kinds === undefined) {
        // Fn::If: each branch is checked in the scope where the condition holds (then) or not (else).
        if (Array.isArray(arg) && arg.length === 3 && typeof arg[0] === 'string') {
          this.value(arg[1], type, { path: `${scope.path}.Fn::If[1]`, holds: new Set([...scope.holds, arg[0]]) });
          this.value(arg[2], type, { path: `${scope.path}.Fn::If[2]`, holds: scope.holds });
        }
        return;
      }
      if (kinds.has('novalue')) return; // a property left out: required-ness is checked on the literal branch
      const want = type.type === 'integer' || type.type === 'number' ? 'number' : type.type === 'array' ? 'list' : type.type === 'string' || type.type === 'date-time' ? 'string' : undefined;
      // CloudFormation passes a Number parameter as a string to string properties and vice versa; a
      // mismatch of scalar vs list or object is an error.
      if (want === 'list' && !kinds.has('list')) this.fail(scope.path, `${fn} gives a scalar where a list is expected`);
      if (want !== undefined && want !== 'list' && kinds.has('list')) this.fail(scope.path, `${fn} gives a list where a ${type.type} is expected`);
      if (type.type === 'ref' || type.type === 'map' || type.type === 'tag') this.fail(scope.path, `${fn} gives a scalar where an object is expected`);
      if (want === 'number' && kinds.has('string') && fn !== 'Ref') this.fail(scope.path, `${fn} gives a string where a ${type.type} is expected`);
      return;
    }
    switch (type.type) {
      case 'string':
        if (typeof v !== 'string') return this.fail(scope.path, `expected a string, got ${JSON.stringify(v)}`);
        if (type.allowedValues !== undefined && type.allowedValues.length > 0 && !type.allowedValues.includes(v)) this.fail(scope.path, `${JSON.stringify(v)} is not one of ${type.allowedValues.join(', ')}`);
        return;
      case 'date-time':
        if (typeof v !== 'string' || Number.isNaN(Date.parse(v))) this.fail(scope.path, `expected a date-time, got ${JSON.stringify(v)}`);
        return;
      case 'integer':
        if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(scope.path, `expected an integer, got ${JSON.stringify(v)}`);
        return;
      case 'number':
        if (typeof v !== 'number') this.fail(scope.path, `expected a number, got ${JSON.stringify(v)}`);
        return;
      case 'boolean':
        if (typeof v !== 'boolean') this.fail(scope.path, `expected a boolean, got ${JSON.stringify(v)}`);
        return;
      case 'json':
        if (!isObject(v)) return this.fail(scope.path, 'expected a JSON object');
        this.jsonIntrinsics(v, scope);
        if ('Statement' in v) this.policyDocument(v, scope);
        return;
      case 'null':
        if (v !== null) this.fail(scope.path, 'expected null');
        return;
      case 'tag':
        if (!isObject(v)) return this.fail(scope.path, 'expected a tag {Key, Value}');
        for (const k of Object.keys(v)) if (k !== 'Key' && k !== 'Value') this.fail(`${scope.path}.${k}`, 'is no property of a tag');
        this.value(v['Key'], { type: 'string' }, { ...scope, path: `${scope.path}.Key` });
        this.value(v['Value'], { type: 'string' }, { ...scope, path: `${scope.path}.Value` });
        return;
      case 'array':
        if (!Array.isArray(v)) return this.fail(scope.path, `expected a list, got ${JSON.stringify(v)}`);
        v.forEach((e, i) => this.value(e, type.element, { ...scope, path: `${scope.path}[${i}]` }));
        return;
      case 'map':
        if (!isObject(v)) return this.fail(scope.path, 'expected a map');
        for (const [k, e] of Object.entries(v)) this.value(e, type.element, { ...scope, path: `${scope.path}.${k}` });
        return;
      case 'union': {
        const saved = this.problems.length;
        for (const t of type.types) {
          const before = this.problems.length;
          this.value(v, t, scope);
          if (this.problems.length === before) {
            this.problems.length = saved;
            return;
          }
        }
        const all = this.problems.splice(saved);
        this.fail(scope.path, `matches none of the union's types (${all.join('; ')})`);
        return;
      }
      case 'ref': {
        const def: TypeDefinition = this.db.get('typeDefinition', type.reference);
        if (!isObject(v)) return this.fail(scope.path, `expected a ${def.name} object, got ${JSON.stringify(v)}`);
        this.properties(v, def.properties, def.name, scope);
        return;
      }
    }
  }

  /** properties checks an object's property names, values and required properties against a schema. */
  properties(v: Record<string, Json>, props: ResourceProperties, typeName: string, scope: Scope): void {
    for (const [k, e] of Object.entries(v)) {
      const p = props[k];
      if (p === undefined) {
        this.fail(`${scope.path}.${k}`, `is no property of ${typeName} (known: ${Object.keys(props).sort().join(', ')})`);
        continue;
      }
      this.value(e, p.type, { ...scope, path: `${scope.path}.${k}` });
    }
    for (const [k, p] of Object.entries(props)) if (p.required === true && !(k in v)) this.fail(scope.path, `${typeName} requires ${k}`);
  }

  /** jsonIntrinsics checks the intrinsics anywhere inside a json value (policy documents). */
  private jsonIntrinsics(v: Json, scope: Scope): void {
    const fn = intrinsicName(v);
    if (fn !== undefined) {
      const arg = (v as Record<string, Json>)[fn];
      const kinds = this.intrinsic(fn, arg, scope);
      if (kinds === undefined && Array.isArray(arg)) {
        this.jsonIntrinsics(arg[1], { path: `${scope.path}.Fn::If[1]`, holds: new Set([...scope.holds, String(arg[0])]) });
        this.jsonIntrinsics(arg[2], { path: `${scope.path}.Fn::If[2]`, holds: scope.holds });
      }
      return;
    }
    if (Array.isArray(v)) v.forEach((e, i) => this.jsonIntrinsics(e, { ...scope, path: `${scope.path}[${i}]` }));
    else if (isObject(v)) for (const [k, e] of Object.entries(v)) this.jsonIntrinsics(e, { ...scope, path: `${scope.path}.${k}` });
  }

  /** policyDocument: Version 2012-10-17, statements with Effect, Action, Resource (or Principal in resource policies). */
  private policyDocument(doc: Record<string, Json>, scope: Scope): void {
    if (doc['Version'] !== '2012-10-17') this.fail(`${scope.path}.Version`, 'must be "2012-10-17"');
    const statements = doc['Statement'];
    if (!Array.isArray(statements) || statements.length === 0) return this.fail(`${scope.path}.Statement`, 'must be a non-empty list');
    const sids = new Set<string>();
    statements.forEach((s, i) => {
      const at = `${scope.path}.Statement[${i}]`;
      if (!isObject(s)) return this.fail(at, 'is no statement');
      for (const k of Object.keys(s)) if (!['Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition'].includes(k)) this.fail(`${at}.${k}`, 'is no statement element');
      if (s['Effect'] !== 'Allow' && s['Effect'] !== 'Deny') this.fail(`${at}.Effect`, 'must be Allow or Deny');
      const actions = s['Action'];
      const list = typeof actions === 'string' ? [actions] : Array.isArray(actions) ? actions : [];
      if (list.length === 0) this.fail(`${at}.Action`, 'missing');
      for (const a of list) if (typeof a !== 'string' || !/^([a-z0-9-]+:[A-Za-z0-9*]+|\*)$/.test(a)) this.fail(`${at}.Action`, `${JSON.stringify(a)} is no action`);
      if (typeof s['Sid'] === 'string') {
        if (sids.has(s['Sid'])) this.fail(`${at}.Sid`, 'is not unique');
        sids.add(s['Sid']);
      }
    });
  }

  template(): void {
    for (const k of Object.keys(this.t)) if (!TOP_LEVEL.has(k)) this.fail(k, 'is no template section');
    if (this.t['AWSTemplateFormatVersion'] !== '2010-09-09') this.fail('AWSTemplateFormatVersion', 'must be "2010-09-09"');
    for (const [name, p] of Object.entries(this.params)) this.parameter(name, p);
    for (const [name, c] of Object.entries(this.conditions)) this.conditionFunction(c, { path: `Conditions.${name}`, holds: new Set() });
    const rules = isObject(this.t['Rules']) ? this.t['Rules'] : {};
    for (const [name, r] of Object.entries(rules)) {
      const at = `Rules.${name}`;
      if (!isObject(r)) {
        this.fail(at, 'is no rule');
        continue;
      }
      if ('RuleCondition' in r) this.conditionFunction(r['RuleCondition'], { path: `${at}.RuleCondition`, holds: new Set() });
      const assertions = r['Assertions'];
      if (!Array.isArray(assertions) || assertions.length === 0) this.fail(`${at}.Assertions`, 'must be a non-empty list');
      else assertions.forEach((a, i) => (isObject(a) ? this.conditionFunction(a['Assert'], { path: `${at}.Assertions[${i}].Assert`, holds: new Set() }) : this.fail(`${at}.Assertions[${i}]`, 'is no assertion')));
    }
    if (Object.keys(this.resources).length === 0) this.fail('Resources', 'a template needs at least one resource');
    for (const [name, r] of Object.entries(this.resources)) this.resource(name, r);
    const outputs = isObject(this.t['Outputs']) ? this.t['Outputs'] : {};
    for (const [name, o] of Object.entries(outputs)) {
      if (!isObject(o) || !('Value' in o)) {
        this.fail(`Outputs.${name}`, 'needs a Value');
        continue;
      }
      const c = o['Condition'];
      if (c !== undefined) this.checkCondition(c, { path: `Outputs.${name}.Condition`, holds: new Set() });
      this.value(o['Value'], { type: 'string' }, { path: `Outputs.${name}.Value`, holds: new Set(typeof c === 'string' ? [c] : []) });
    }
  }

  private parameter(name: string, p: Json): void {
    const at = `Parameters.${name}`;
    if (!isObject(p)) return this.fail(at, 'is no parameter');
    for (const k of Object.keys(p)) if (!PARAMETER_KEYS.has(k)) this.fail(`${at}.${k}`, 'is no parameter property');
    const def = p['Default'];
    if (p['Type'] === 'Number') {
      if (def !== undefined && typeof def !== 'number') this.fail(`${at}.Default`, 'a Number parameter needs a number');
      if (typeof def === 'number' && typeof p['MinValue'] === 'number' && def < p['MinValue']) this.fail(`${at}.Default`, `is below MinValue ${p['MinValue']}`);
      if (typeof def === 'number' && typeof p['MaxValue'] === 'number' && def > p['MaxValue']) this.fail(`${at}.Default`, `is above MaxValue ${p['MaxValue']}`);
      for (const k of ['AllowedPattern', 'MinLength', 'MaxLength']) if (k in p) this.fail(`${at}.${k}`, 'applies to String parameters only');
    } else if (p['Type'] === 'String') {
      if (def !== undefined && typeof def !== 'string') this.fail(`${at}.Default`, 'a String parameter needs a string');
      if (typeof def === 'string' && typeof p['AllowedPattern'] === 'string' && !new RegExp(p['AllowedPattern']).test(def)) this.fail(`${at}.Default`, 'does not match AllowedPattern');
      for (const k of ['MinValue', 'MaxValue']) if (k in p) this.fail(`${at}.${k}`, 'applies to Number parameters only');
    } else this.fail(`${at}.Type`, `${JSON.stringify(p['Type'])} is not checked by this validator`);
    const allowed = p['AllowedValues'];
    if (allowed !== undefined && def !== undefined && (!Array.isArray(allowed) || !allowed.includes(def))) this.fail(`${at}.Default`, 'is not among AllowedValues');
  }

  private resource(name: string, r: Json): void {
    const at = `Resources.${name}`;
    if (!/^[A-Za-z0-9]+$/.test(name)) this.fail(at, 'logical ids are alphanumeric');
    if (!isObject(r)) return this.fail(at, 'is no resource');
    for (const k of Object.keys(r)) if (!RESOURCE_KEYS.has(k)) this.fail(`${at}.${k}`, 'is no resource attribute');
    const type = r['Type'];
    const spec = typeof type === 'string' ? this.resourceSpec(type) : undefined;
    if (spec === undefined) return this.fail(`${at}.Type`, `${JSON.stringify(type)} is no resource type in the AWS schemas`);
    const c = r['Condition'];
    if (c !== undefined) this.checkCondition(c, { path: `${at}.Condition`, holds: new Set() });
    for (const k of ['DeletionPolicy', 'UpdateReplacePolicy']) if (k in r && !POLICIES.has(String(r[k]))) this.fail(`${at}.${k}`, `${JSON.stringify(r[k])} is no policy`);
    const deps = r['DependsOn'];
    for (const d of Array.isArray(deps) ? deps : deps === undefined ? [] : [deps]) if (typeof d !== 'string' || !(d in this.resources)) this.fail(`${at}.DependsOn`, `names no resource ${JSON.stringify(d)}`);
    const props = r['Properties'] ?? {};
    if (!isObject(props)) return this.fail(`${at}.Properties`, 'is no object');
    this.properties(props, spec.properties, type as string, { path: `${at}.Properties`, holds: new Set(typeof c === 'string' ? [c] : []) });
  }
}

/** templateProblems lists everything wrong with a template (empty: valid as far as this checks). */
export function templateProblems(template: unknown): string[] {
  if (!isObject(template)) return ['the template is no object'];
  const c = new Checker(specDb(), template);
  c.template();
  return c.problems;
}

/** resourceTypeExists tells whether the AWS schemas know a resource type. */
export function resourceTypeExists(type: string): boolean {
  return specDb().lookup('resource', 'cloudFormationType', 'equals', type).length > 0;
}
