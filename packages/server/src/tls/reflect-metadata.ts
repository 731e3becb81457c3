/**
 * Stand-in for the `reflect-metadata` package, which @peculiar/x509 2.x requires and does not
 * bring (its dependency tsyringe refuses to load without `Reflect.getMetadata`; see the
 * "Reflect Polyfill Required" section of the x509 README). It is not installed in this tree, so
 * this module provides the part of the Metadata API that tsyringe calls, with the same
 * semantics (own metadata per target and property, lookup through the prototype chain), and
 * only where no implementation exists yet: a real `reflect-metadata` imported earlier wins.
 *
 * TODO(lead): add `reflect-metadata` to packages/server and replace this file by
 * `import "reflect-metadata";`.
 */

type Key = string | symbol | undefined;
type Store = Map<Key, Map<unknown, unknown>>;

interface MetadataApi {
  defineMetadata(metadataKey: unknown, value: unknown, target: object, property?: Key): void;
  getOwnMetadata(metadataKey: unknown, target: object, property?: Key): unknown;
  getMetadata(metadataKey: unknown, target: object, property?: Key): unknown;
  hasOwnMetadata(metadataKey: unknown, target: object, property?: Key): boolean;
  hasMetadata(metadataKey: unknown, target: object, property?: Key): boolean;
  metadata(metadataKey: unknown, value: unknown): (target: object, property?: Key) => void;
}

const reflect = Reflect as unknown as Partial<MetadataApi>;

if (typeof reflect.getMetadata !== "function") {
  const stores = new WeakMap<object, Store>();
  const own = (target: object, property: Key, create: boolean): Map<unknown, unknown> | undefined => {
    let store = stores.get(target);
    if (store === undefined) {
      if (!create) return undefined;
      store = new Map();
      stores.set(target, store);
    }
    let entries = store.get(property);
    if (entries === undefined && create) {
      entries = new Map();
      store.set(property, entries);
    }
    return entries;
  };
  const find = (metadataKey: unknown, target: object, property: Key): Map<unknown, unknown> | undefined => {
    for (let t: object | null = target; t !== null; t = Object.getPrototypeOf(t)) {
      const entries = own(t, property, false);
      if (entries?.has(metadataKey)) return entries;
    }
    return undefined;
  };
  const api: MetadataApi = {
    defineMetadata: (metadataKey, value, target, property) => {
      own(target, property, true)?.set(metadataKey, value);
    },
    getOwnMetadata: (metadataKey, target, property) => own(target, property, false)?.get(metadataKey),
    getMetadata: (metadataKey, target, property) => find(metadataKey, target, property)?.get(metadataKey),
    hasOwnMetadata: (metadataKey, target, property) =>
      own(target, property, false)?.has(metadataKey) ?? false,
    hasMetadata: (metadataKey, target, property) => find(metadataKey, target, property) !== undefined,
    metadata: (metadataKey, value) => (target, property) =>
      api.defineMetadata(metadataKey, value, target, property),
  };
  for (const [name, fn] of Object.entries(api)) {
    Object.defineProperty(Reflect, name, { value: fn, writable: true, configurable: true });
  }
}

export {};
