import { defineConfig } from "tsup";
import { libraryConfig } from "@refresh/config/tsup";

export default defineConfig(libraryConfig());
