import type { CloudProvider } from "@skyferry/contracts";

/**
 * Why `bucket` is not a valid bucket (S3) or container (Azure) name, or null when it is.
 * S3: docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html (general purpose).
 * Azure: learn.microsoft.com/rest/api/storageservices/naming-and-referencing-containers--blobs--and-metadata.
 */
export function bucketNameProblem(provider: CloudProvider, bucket: string): string | null {
  if (provider === "azure") return containerProblem(bucket);
  if (bucket.length < 3 || bucket.length > 63) return "Bucket names must be 3 to 63 characters long.";
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(bucket)) {
    return "Bucket names may contain only lowercase letters, digits, dots and hyphens, and must begin and end with a letter or digit.";
  }
  if (bucket.includes("..") || bucket.includes(".-") || bucket.includes("-.")) return "Bucket names may not contain two adjacent periods or a period next to a hyphen.";
  if (/^\d+\.\d+\.\d+\.\d+$/.test(bucket)) return "Bucket names may not be formatted as an IP address.";
  if (/^(xn--|sthree-|amzn-s3-demo-)/.test(bucket)) return "Bucket names may not start with a reserved prefix.";
  if (/(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/.test(bucket)) return "Bucket names may not end with a reserved suffix.";
  return null;
}

function containerProblem(name: string): string | null {
  if (name === "$root" || name === "$web") return null;
  if (name.length < 3 || name.length > 63) return "Container names must be 3 to 63 characters long.";
  if (!/^[a-z0-9][a-z0-9-]*[a-z0-9]$/.test(name)) {
    return "Container names may contain only lowercase letters, digits and hyphens, and must begin and end with a letter or digit.";
  }
  if (name.includes("--")) return "Container names may not contain consecutive hyphens.";
  return null;
}
