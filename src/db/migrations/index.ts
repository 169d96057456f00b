import { InitialSchema1764115200000 } from "./1764115200000-initial-schema.js";

export const MIGRATIONS = [InitialSchema1764115200000];
