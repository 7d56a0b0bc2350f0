import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";

const Version = Type.Object({ version_major: Type.String(), version_minor: Type.String(), extra: Type.Object({}) });
const Configuration = Type.Object({
  version_major: Type.String(),
  version_minor: Type.String(),
  brand: Type.String(),
  allow_user_creation: Type.Boolean(),
  enable_tus: Type.Boolean(),
  tus_upload_url: Type.String(),
  chunk_upload_size: Type.Integer(),
  ftp_upload_site: Type.Null(),
  server_mail_configured: Type.Boolean(),
});

/**
 * Galaxy's `GET /api/version` and a minimal `GET /api/configuration`: what clients ask before
 * choosing how to talk (BioBlend uploads with tus when `version_major >= "22.01"`). Public, as in Galaxy.
 */
export async function galaxyInfoRoutes(app: FastifyInstance, opts: { galaxyVersion: string }): Promise<void> {
  const version_major = opts.galaxyVersion;
  const answer = { version_major, version_minor: "0", extra: {} };
  app.get("/api/version", { schema: { tags: ["config"], summary: "The Galaxy API version this gateway speaks", response: { 200: Version } } }, async () => answer);
  app.get("/api/configuration", { schema: { tags: ["config"], summary: "Server settings Galaxy clients read", response: { 200: Configuration } } }, async () => ({
    version_major,
    version_minor: "0",
    brand: "skyferry",
    allow_user_creation: false,
    enable_tus: true,
    tus_upload_url: "/api/upload/resumable_upload/",
    chunk_upload_size: 10 * 1024 * 1024,
    ftp_upload_site: null,
    server_mail_configured: false,
  }));
}
