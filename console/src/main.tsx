import { render } from 'preact';
import { App } from './app.js';
import { interceptLinks } from './router.js';
import './styles.css';

interceptLinks();
const root = document.getElementById('app');
if (root) render(<App />, root);
