// The page's files, bundled as text by esbuild (`with { type: 'text' }`): see assets.ts.
declare module '*.css' {
  const text: string;
  export default text;
}
declare module '*/assets/app.js' {
  const text: string;
  export default text;
}
