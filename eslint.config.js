export { default } from "@refresh/config/eslint";
