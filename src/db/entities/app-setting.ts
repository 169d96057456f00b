import { EntitySchema } from "typeorm";
import { updatedAt } from "./columns.js";

/** A value the app keeps about itself, by name: the encryption key's check value. */
export interface AppSetting {
  name: string;
  value: string;
  updated_at: Date;
}

export const AppSettingEntity = new EntitySchema<AppSetting>({
  name: "AppSetting",
  tableName: "app_settings",
  columns: {
    name: { type: "text", primary: true },
    value: { type: "text" },
    updated_at: updatedAt,
  },
});
