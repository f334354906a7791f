/**
 * core/cloud/cfn-input: the CloudFormation template's data from the lifecycle planner
 * (core/cloud/lifecycle-rules): its S3-API rules in CloudFormation's spelling, the days a person
 * may change at deploy time as template parameters. Pure.
 *
 * Each tier's safety-net expiry is a parameter whose default and MinValue are the planner's days:
 * a stack can keep sets longer than the job's retention needs, never shorter (a lower value could
 * delete a set strata still keeps, or break a class's minimum storage duration). To lower it,
 * change the job's retention and generate the template again.
 */
import { DEFAULT_RETENTION, type RetentionPolicy } from '../retention.js';
import { EXPIRE_TAG, NONCURRENT_DAYS, planLifecycle, type LifecyclePlan, type LifecycleRule } from './lifecycle-rules.js';
import type { CfnDays, CfnLifecycleRule, DaysParameter, TemplateInput } from './cfn-template.js';

/** NONCURRENT_PARAMETER holds how long replaced or deleted versions are kept. */
export const NONCURRENT_PARAMETER = 'NoncurrentVersionDays';

/** expiryParameter names the parameter of a tier's safety-net expiry: weekly → WeeklyExpiryDays. */
export function expiryParameter(ruleId: string): string | undefined {
  const m = /^strata-([a-z]+)-safety-expiry$/.exec(ruleId);
  const tier = m?.[1];
  return tier === undefined ? undefined : `${tier.charAt(0).toUpperCase()}${tier.slice(1)}ExpiryDays`;
}

/** toCfnRule writes an S3-API lifecycle rule in CloudFormation's names; `days` maps a rule's expiry to a parameter. */
export function toCfnRule(r: LifecycleRule, expiryDays?: CfnDays, noncurrentDays?: CfnDays): CfnLifecycleRule {
  const out: CfnLifecycleRule = { Id: r.ID, Status: r.Status };
  const prefix = 'Prefix' in r.Filter ? r.Filter.Prefix : (r.Filter.And.Prefix ?? '');
  if (prefix !== '') out.Prefix = prefix;
  if ('And' in r.Filter && r.Filter.And.Tags.length > 0) out.TagFilters = r.Filter.And.Tags.map((t) => ({ Key: t.Key, Value: t.Value }));
  if (r.Transitions !== undefined && r.Transitions.length > 0) out.Transitions = r.Transitions.map((t) => ({ StorageClass: t.StorageClass, TransitionInDays: t.Days }));
  if (r.Expiration !== undefined) {
    if ('Days' in r.Expiration) out.ExpirationInDays = expiryDays ?? r.Expiration.Days;
    else out.ExpiredObjectDeleteMarker = true;
  }
  if (r.NoncurrentVersionExpiration !== undefined) out.NoncurrentVersionExpiration = { NoncurrentDays: noncurrentDays ?? r.NoncurrentVersionExpiration.NoncurrentDays };
  if (r.AbortIncompleteMultipartUpload !== undefined) out.AbortIncompleteMultipartUpload = { DaysAfterInitiation: r.AbortIncompleteMultipartUpload.DaysAfterInitiation };
  return out;
}

/** TemplateOptions: the job's retention (default: strata's), the destination's prefix in the bucket. */
export interface TemplateOptions {
  version: string;
  retention?: RetentionPolicy;
  prefix?: string;
  /** The job deletes by tag (retention.deleteBy: tag): the Deletion parameter defaults to s3. */
  deleteByTag?: boolean;
}

/** templatePlan is the planner's plan the template is made of (both buckets delete by tag: lifecycle deletions are not replicated). */
export function templatePlan(o: TemplateOptions): LifecyclePlan {
  return planLifecycle({ retention: o.retention ?? DEFAULT_RETENTION, prefix: o.prefix ?? '', deleteByTag: true });
}

/** templateInput turns the plan into the template's input. */
export function templateInput(o: TemplateOptions): TemplateInput {
  const plan = templatePlan(o);
  const daysParameters: DaysParameter[] = [];
  const rules = plan.rules.map((p) => {
    const r = p.rule;
    const param = expiryParameter(r.ID);
    let expiry: CfnDays | undefined;
    if (param !== undefined && r.Expiration !== undefined && 'Days' in r.Expiration) {
      const tier = param.replace(/ExpiryDays$/, '').toLowerCase();
      daysParameters.push({
        name: param,
        description: `Safety net: delete any object of a ${tier} set this many days after it was made (later than strata's retention)`,
        default: r.Expiration.Days,
        min: r.Expiration.Days,
      });
      expiry = { Ref: param };
    }
    return toCfnRule(r, expiry, r.NoncurrentVersionExpiration === undefined ? undefined : { Ref: NONCURRENT_PARAMETER });
  });
  daysParameters.push({ name: NONCURRENT_PARAMETER, description: 'Keep a replaced or deleted object\'s old version this many days (time to undo a mistake or an attack)', default: NONCURRENT_DAYS, min: 1 });
  return {
    version: o.version,
    primaryRules: rules,
    replicaRules: rules,
    daysParameters,
    expireTag: EXPIRE_TAG,
    notes: [...plan.rules.map((p) => `${p.rule.ID}: ${p.reason} (cost: ${p.cost})`), ...plan.corrections],
    prefix: o.prefix ?? '',
    deletion: o.deleteByTag === true ? 's3' : 'strata',
  };
}
