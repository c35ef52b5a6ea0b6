import { MOVING_TAGS } from "./catalog";

export interface ImageReference {
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

/** Splits "registry:5000/org/name:tag@sha256:..." without guessing registries: only tag and digest matter here. */
export function parseImageReference(reference: string): ImageReference {
  const [nameAndTag, digest] = reference.split("@", 2) as [string, string | undefined];
  const lastSlash = nameAndTag.lastIndexOf("/");
  const colon = nameAndTag.indexOf(":", lastSlash + 1);
  const repository = colon === -1 ? nameAndTag : nameAndTag.slice(0, colon);
  const tag = colon === -1 ? undefined : nameAndTag.slice(colon + 1);
  return { repository, ...(tag !== undefined && { tag }), ...(digest !== undefined && { digest }) };
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const REPOSITORY = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/**
 * Why an image reference is not acceptable as a pinned deployment target, or undefined when it is.
 * A moving tag (latest, main...) would let the fleet change without a diff, so it needs an explicit opt-in.
 */
export function imagePinProblem(reference: string, allowMovingTag: boolean, allowHint = ", or set allowMovingTag: true"): string | undefined {
  const { repository, tag, digest } = parseImageReference(reference);
  if (!REPOSITORY.test(repository)) return `"${reference}" is not a valid image reference`;
  if (digest !== undefined) {
    return DIGEST.test(digest) ? undefined : `digest "${digest}" is malformed: write @sha256: followed by 64 hex digits`;
  }
  if (tag === undefined) {
    return `"${reference}" has no tag, which means "latest" and moves: pin a version, e.g. "${repository}:<version>", or a digest "@sha256:..."`;
  }
  if (!TAG.test(tag)) return `tag "${tag}" is not a valid image tag`;
  if (MOVING_TAGS.has(tag.toLowerCase()) && !allowMovingTag) {
    return `tag "${tag}" moves, so the fleet could change without a diff: pin a version (e.g. "${repository}:<version>") or a digest${allowHint}`;
  }
  return undefined;
}
