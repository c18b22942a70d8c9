// The gRPC plumbing shared by the node, the controller, the client and the router.
export * from './auth';
export * from './channel';
export * from './client';
export * from './errors';
export * from './server';
